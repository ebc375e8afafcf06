import { compareVersions, type CatalogRecord } from '../format/catalog-record.js';
import { catalogSortKey, compareCatalogNames } from '../format/catalog-segment.js';
import type { RecordRun } from '../store/catalog-runs.js';

/**
 * A k-way merge: every run's records of one name are taken together and the newest (compareVersions) is yielded.
 * Runs added after damage (a spare copy's records past the damaged line) join from where the
 * merge is: what they hold before it was merged already.
 */
export function* mergeRuns(initial: readonly RecordRun[], pending: RecordRun[]): Generator<CatalogRecord> {
  const heap = new RunHeap();
  for (const run of initial) heap.push(run);
  const admitPending = (from: string | undefined, inclusive: boolean): void => {
    for (let run = pending.shift(); run !== undefined; run = pending.shift()) {
      for (let name = run.headName; name !== undefined && from !== undefined; name = run.headName) {
        const order = compareCatalogNames(name, from);
        if (order > 0 || (order === 0 && inclusive)) break;
        run.advance();
      }
      heap.push(run);
    }
  };
  let passed: string | undefined;
  try {
    for (;;) {
      admitPending(passed, false);
      const first = heap.pop();
      if (!first) return;
      const name = first.headName as string;
      let newest: CatalogRecord | undefined;
      const taken: RecordRun[] = [];
      // Every record of this name from every run (a run read whole after damage may hold one twice).
      for (let run: RecordRun | undefined = first; run; run = heap.peek()?.headName === name ? heap.pop() : undefined) {
        while (run.headName === name) {
          const head = run.decodeHead();
          if (head !== undefined && (newest === undefined || compareVersions(head, newest) > 0)) newest = head;
          run.advance();
        }
        taken.push(run);
        // A head of this name that proved damaged brings its spare copy's record of it into this round.
        admitPending(name, true);
      }
      for (const run of taken) heap.push(run);
      passed = name;
      if (newest !== undefined) yield newest;
    }
  } finally {
    for (const run of heap.all()) run.close();
    for (const run of pending) run.close();
  }
}

/**
 * A binary min-heap of runs by their head's name; a run that is done is not kept. Each head's
 * sort key (catalogSortKey) is made once, when its run is pushed, so the comparisons are native
 * string comparisons (a merge of 15,871 runs compares each name ~28 times).
 */
class RunHeap {
  private readonly items: RecordRun[] = [];
  private readonly keys: string[] = [];

  push(run: RecordRun): void {
    if (run.headName === undefined) {
      run.close();
      return;
    }
    const { items, keys } = this;
    const key = catalogSortKey(run.headName);
    let i = items.length;
    items.push(run);
    keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent] <= key) break;
      items[i] = items[parent];
      keys[i] = keys[parent];
      i = parent;
    }
    items[i] = run;
    keys[i] = key;
  }

  peek(): RecordRun | undefined {
    return this.items[0];
  }

  pop(): RecordRun | undefined {
    const { items, keys } = this;
    const top = items[0];
    const last = items.pop();
    const lastKey = keys.pop();
    if (items.length > 0 && last !== undefined && lastKey !== undefined) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= items.length) break;
        const right = left + 1;
        const child = right < items.length && keys[right] < keys[left] ? right : left;
        if (keys[child] >= lastKey) break;
        items[i] = items[child];
        keys[i] = keys[child];
        i = child;
      }
      items[i] = last;
      keys[i] = lastKey;
    }
    return top;
  }

  all(): readonly RecordRun[] {
    return this.items;
  }
}
