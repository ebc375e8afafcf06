import type { FileHealth, FileState, StoreBlockCounts } from './file-health.js';

/** Files with blocks in each state on one store (blocks of a pack count once per file they hold). */
export type StoreFileCounts = Record<keyof StoreBlockCounts, number>;

/**
 * What a report says in numbers about every file it checked, whether or not it keeps each file's
 * health: the counts reports and metrics print, so a verify of a million files can hold counts
 * and the few files it lists instead of a million health entries.
 */
export interface HealthSummary {
  /** Every file reported on, superseded ones included. */
  readonly files: number;
  readonly states: Record<FileState, number>;
  /** Files a report lists as troubled (lost, degraded, or with repaired blocks), by state. */
  readonly troubled: Record<FileState, number>;
  /** Files with blocks of a newer, unfinished update. */
  readonly newerFiles: number;
  /** Of the files not superseded: their bytes, data sets and lost data sets. */
  readonly sizeBytes: number;
  readonly datasets: number;
  readonly lostDatasets: number;
  /** For each store slot, how many (not superseded) files have blocks there in each bad state. */
  readonly byStore: Readonly<Record<string, StoreFileCounts>>;
}

/**
 * Which files' health a tally keeps besides the counts: every file (--json), every troubled one
 * and every one with newer blocks (--verbose), or at most this many of each, the worst first
 * (a summary: memory independent of the pool's size).
 */
export type KeptFiles = 'all' | 'troubled' | number;

const SEVERITY: Record<FileState, number> = { lost: 0, degraded: 1, healthy: 2, superseded: 3 };

/** Whether a report lists the file among the troubled ones. */
export function isTroubled(file: FileHealth): boolean {
  return (file.state !== 'healthy' && file.state !== 'superseded') || file.repairedBlocks > 0;
}

/** Worst first (a lost file must not hide behind a hundred degraded ones), then by name. */
export function worstFirst(a: FileHealth, b: FileHealth): number {
  return SEVERITY[a.state] - SEVERITY[b.state] || compareNames(a.name, b.name);
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Folds settled file healths, one at a time, into a HealthSummary and the files `kept` asks for. */
export class HealthTally {
  private readonly states: Record<FileState, number> = { healthy: 0, degraded: 0, lost: 0, superseded: 0 };
  private readonly troubledStates: Record<FileState, number> = { healthy: 0, degraded: 0, lost: 0, superseded: 0 };
  private readonly byStore: Record<string, StoreFileCounts> = {};
  private count = 0;
  private newer = 0;
  private sizeBytes = 0;
  private datasets = 0;
  private lostDatasets = 0;
  private readonly all: FileHealth[] = [];
  /** With a number kept: the worst troubled files and the first files (by name) with newer blocks. */
  private worst: FileHealth[] = [];
  private newest: FileHealth[] = [];

  constructor(private readonly kept: KeptFiles) {
    if (typeof kept === 'number' && !(Number.isInteger(kept) && kept >= 0)) throw new Error(`HealthTally: kept ${kept} is not a count`);
  }

  add(file: FileHealth): void {
    this.count++;
    this.states[file.state]++;
    const troubled = isTroubled(file);
    if (troubled) this.troubledStates[file.state]++;
    if (file.newerBlocks > 0) this.newer++;
    if (file.state !== 'superseded') {
      this.sizeBytes += file.sizeBytes;
      this.datasets += file.datasets;
      this.lostDatasets += file.lostDatasets.length;
      for (const [slot, blocks] of Object.entries(file.byStore)) {
        this.byStore[slot] ??= { missing: 0, corrupt: 0, stale: 0, repaired: 0, unrepaired: 0 };
        const into = this.byStore[slot];
        for (const key of Object.keys(into) as (keyof StoreBlockCounts)[]) if (blocks[key] > 0) into[key]++;
      }
    }
    if (this.kept === 'all') this.all.push(file);
    else if (this.kept === 'troubled') {
      if (troubled || file.newerBlocks > 0) this.all.push(file);
    } else {
      if (troubled) this.worst = keepFirst(this.worst, file, this.kept, worstFirst);
      if (file.newerBlocks > 0) this.newest = keepFirst(this.newest, file, this.kept, (a, b) => compareNames(a.name, b.name));
    }
  }

  summary(): HealthSummary {
    return {
      files: this.count, states: { ...this.states }, troubled: { ...this.troubledStates }, newerFiles: this.newer,
      sizeBytes: this.sizeBytes, datasets: this.datasets, lostDatasets: this.lostDatasets,
      byStore: Object.fromEntries(Object.entries(this.byStore).map(([slot, counts]) => [slot, { ...counts }])),
    };
  }

  /** The kept files in name order (each once, though it may be both troubled and newer). */
  files(): FileHealth[] {
    const files = typeof this.kept === 'number' ? [...new Set([...this.worst, ...this.newest])] : [...this.all];
    return files.sort((a, b) => compareNames(a.name, b.name));
  }
}

/** The summary of files already held in full (check and rebuild keep every file's health). */
export function summarizeHealth(files: readonly FileHealth[]): HealthSummary {
  const tally = new HealthTally(0);
  for (const file of files) tally.add(file);
  return tally.summary();
}

/** `list` (ordered by `order`, at most `limit` long) with `item` in its place, the last dropped when over. */
function keepFirst<T>(list: T[], item: T, limit: number, order: (a: T, b: T) => number): T[] {
  if (limit === 0) return list;
  if (list.length === limit && order(item, list[list.length - 1]) >= 0) return list;
  let at = list.length;
  while (at > 0 && order(item, list[at - 1]) < 0) at--;
  list.splice(at, 0, item);
  if (list.length > limit) list.pop();
  return list;
}
