/**
 * Progress of a check or rebuild, which the coordinator otherwise learns of only when a worker's
 * whole share is done. Each worker counts what it has finished (data sets, the file bytes they
 * hold) and sends the running totals at most every `intervalMs`; the coordinator adds up the
 * newest totals of every worker. Totals, not increments: a message that is throttled away loses nothing.
 */

/** What a worker sends: its running totals since it entered initialization mode. */
export interface CheckProgressCounts {
  readonly datasets: number;
  readonly bytes: number;
}

/** How often a worker tells its progress at most: often enough for a smooth bar, rare enough to cost nothing. */
export const PROGRESS_INTERVAL_MS = 200;

/** A worker's side: counts everything, sends the totals at most once per interval, and on flush. */
export class ProgressThrottle {
  private datasets = 0;
  private bytes = 0;
  private lastSentMs = Number.NEGATIVE_INFINITY;
  private unsent = false;

  constructor(
    private readonly send: (counts: CheckProgressCounts) => void,
    private readonly intervalMs = PROGRESS_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  add(datasets: number, bytes: number): void {
    this.datasets += datasets;
    this.bytes += bytes;
    this.unsent = true;
    const at = this.now();
    if (at - this.lastSentMs >= this.intervalMs) this.sendNow(at);
  }

  /** Sends what the last throttled message left out (a share is finished: the bar should say so). */
  flush(): void {
    if (this.unsent) this.sendNow(this.now());
  }

  /** A new epoch: counting starts again. */
  reset(): void {
    this.datasets = 0;
    this.bytes = 0;
    this.unsent = false;
    this.lastSentMs = Number.NEGATIVE_INFINITY;
  }

  private sendNow(at: number): void {
    this.lastSentMs = at;
    this.unsent = false;
    this.send({ datasets: this.datasets, bytes: this.bytes });
  }
}

/** The coordinator's side: the newest totals of each worker, summed. */
export class CheckProgressSum {
  private readonly bySlot = new Map<number, CheckProgressCounts>();

  constructor(readonly totalBytes: number, private readonly onChange?: (doneBytes: number, totalBytes: number) => void) {}

  /** A worker's totals; an older message arriving late (it cannot on one channel, but) never moves the sum back. */
  report(slot: number, counts: CheckProgressCounts): void {
    const before = this.bySlot.get(slot);
    if (before && before.bytes >= counts.bytes && before.datasets >= counts.datasets) return;
    this.bySlot.set(slot, counts);
    this.onChange?.(this.doneBytes, this.totalBytes);
  }

  get doneBytes(): number {
    let sum = 0;
    for (const counts of this.bySlot.values()) sum += counts.bytes;
    return Math.min(sum, this.totalBytes);
  }

  get doneDatasets(): number {
    let sum = 0;
    for (const counts of this.bySlot.values()) sum += counts.datasets;
    return sum;
  }
}
