import { describe, expect, it } from '@jest/globals';
import { CheckProgressSum, ProgressThrottle, type CheckProgressCounts } from '../../src/cluster/check-progress.js';

/** A check's progress: each worker sends running totals at most every interval; the coordinator sums the newest. */
describe('check progress', () => {
  it('a worker sends its running totals at most once per interval, and what was held back on flush', () => {
    let nowMs = 1000;
    const sent: CheckProgressCounts[] = [];
    const throttle = new ProgressThrottle((counts) => sent.push(counts), 200, () => nowMs);
    throttle.add(1, 100); // the first data set is told at once
    for (let i = 0; i < 50; i++) {
      nowMs += 10;
      throttle.add(1, 100);
    }
    // 500 ms of data sets, one every 10 ms: sent at 1000, 1200, 1400 only.
    expect(sent.map((c) => c.datasets)).toEqual([1, 21, 41]);
    throttle.flush();
    expect(sent[sent.length - 1]).toEqual({ datasets: 51, bytes: 5100 });
    throttle.flush(); // nothing new: nothing sent
    expect(sent).toHaveLength(4);
    throttle.reset();
    nowMs += 1;
    throttle.add(2, 7);
    expect(sent[sent.length - 1]).toEqual({ datasets: 2, bytes: 7 });
  });

  it('the coordinator adds up the newest totals of every worker, never going back and never past the total', () => {
    const seen: [number, number][] = [];
    const sum = new CheckProgressSum(1000, (done, total) => seen.push([done, total]));
    sum.report(0, { datasets: 1, bytes: 100 });
    sum.report(1, { datasets: 2, bytes: 300 });
    sum.report(0, { datasets: 3, bytes: 400 }); // a total replaces, it does not add
    expect(sum.doneBytes).toBe(700);
    expect(sum.doneDatasets).toBe(5);
    sum.report(0, { datasets: 1, bytes: 100 }); // an older total changes nothing
    expect(sum.doneBytes).toBe(700);
    sum.report(2, { datasets: 9, bytes: 900 }); // a takeover may count a data set twice: capped
    expect(sum.doneBytes).toBe(1000);
    expect(seen).toEqual([[100, 1000], [400, 1000], [700, 1000], [1000, 1000]]);
  });
});
