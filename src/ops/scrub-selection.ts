import { datasetSequence, packRecordOf, type CatalogRecord } from '../format/catalog-record.js';
import { scrubKey, type ScrubTimes } from '../format/scrub-log.js';

/** A file or pack whose data sets are scrubbed: what a live record (or a pack) says of them. */
export type ScrubTarget = Pick<CatalogRecord, 'fileId' | 'sequence' | 'datasetSequences' | 'datasetCount'>;

/** One data set of the pool at its sequence, and when it was last found good (undefined: never). */
export interface ScrubUnit {
  readonly fileId: string;
  readonly datasetIndex: number;
  readonly sequence: bigint;
  readonly lastVerifiedMs?: number;
}

/** What a partial verify or check asks for (SnapRAID's `scrub -p P -o DAYS`). */
export interface ScrubRequest {
  /** At most this share of the pool's data sets, 0 < P <= 100. */
  readonly percent?: number;
  /** Only data sets last found good more than this many days ago (or never). */
  readonly olderThanDays?: number;
}

/** How much of the pool a run covered: said in its report and recorded in the manifest's lastCheck. */
export interface ScrubCoverage {
  readonly percent?: number;
  readonly olderThanDays?: number;
  /** Every data set of the pool (or of the named files); a pack is one. */
  readonly totalDatasets: number;
  /** Those --older-than lets through (all without it). */
  readonly eligibleDatasets: number;
  /** Those read by this run: the oldest eligible, at most P% of the total. */
  readonly selectedDatasets: number;
  /**
   * Of the eligible data sets left unread, when the oldest was last found good: null when it
   * never was; absent when every eligible data set was read.
   */
  readonly oldestLeftVerifiedAtMs?: number | null;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The live records' files and packs, each pack once however many files are packed in it. `packs`
 * (keys of packs already taken) lets a caller that reads the catalog bucket by bucket call this once per bucket.
 */
export function scrubTargets(records: Iterable<CatalogRecord>, packs = new Set<string>()): ScrubTarget[] {
  const targets: ScrubTarget[] = [];
  for (const record of records) {
    if (record.deleted) continue;
    if (!record.pack) {
      targets.push(record);
      continue;
    }
    const key = `${record.pack.fileId}@${record.pack.sequence}`;
    if (packs.has(key)) continue;
    packs.add(key);
    targets.push(packRecordOf(record));
  }
  return targets;
}

/** Every data set of the targets with its last verify time from the scrub logs. */
export function scrubUnits(targets: readonly ScrubTarget[], times: ScrubTimes): ScrubUnit[] {
  const units: ScrubUnit[] = [];
  for (const target of targets) {
    for (let d = 0; d < target.datasetCount; d++) {
      const sequence = datasetSequence(target, d);
      const at = times.get(scrubKey(target.fileId, d, sequence));
      units.push(at === undefined ? { fileId: target.fileId, datasetIndex: d, sequence } : { fileId: target.fileId, datasetIndex: d, sequence, lastVerifiedMs: at });
    }
  }
  return units;
}

/**
 * The data sets a partial run reads: never verified first, then the longest ago, ties in file id
 * and data set order (so runs of equal age go round the pool in one order); only those older than
 * the request's days; at most ceil(P% of all data sets), so 100/P runs cover an unchanged pool.
 */
export function selectForScrub(units: readonly ScrubUnit[], request: ScrubRequest, nowMs: number): { selected: ScrubUnit[]; coverage: ScrubCoverage } {
  const cutoffMs = request.olderThanDays === undefined ? undefined : nowMs - request.olderThanDays * DAY_MS;
  const eligible = units.filter((u) => cutoffMs === undefined || u.lastVerifiedMs === undefined || u.lastVerifiedMs < cutoffMs);
  eligible.sort(oldestFirst);
  // The small epsilon keeps 7% of 100 (7.000000000000001 in floating point) at 7.
  const cap = request.percent === undefined ? eligible.length : Math.ceil((units.length * request.percent) / 100 - 1e-9);
  const selected = eligible.slice(0, Math.min(cap, eligible.length));
  const firstLeft = eligible[selected.length];
  return {
    selected,
    coverage: {
      ...(request.percent === undefined ? {} : { percent: request.percent }),
      ...(request.olderThanDays === undefined ? {} : { olderThanDays: request.olderThanDays }),
      totalDatasets: units.length, eligibleDatasets: eligible.length, selectedDatasets: selected.length,
      ...(firstLeft ? { oldestLeftVerifiedAtMs: firstLeft.lastVerifiedMs ?? null } : {}),
    },
  };
}

function oldestFirst(a: ScrubUnit, b: ScrubUnit): number {
  const at = a.lastVerifiedMs ?? -1;
  const bt = b.lastVerifiedMs ?? -1;
  if (at !== bt) return at - bt;
  if (a.fileId !== b.fileId) return a.fileId < b.fileId ? -1 : 1;
  return a.datasetIndex - b.datasetIndex;
}

/** Data sets by the time since they were last found good, as `status` shows them. */
export interface ScrubAgeBucket {
  readonly label: 'never' | '< 1 d' | '1-7 d' | '7-30 d' | '> 30 d';
  readonly datasets: number;
}

export function scrubAgeHistogram(units: readonly ScrubUnit[], nowMs: number): ScrubAgeBucket[] {
  const counts = { never: 0, '< 1 d': 0, '1-7 d': 0, '7-30 d': 0, '> 30 d': 0 };
  for (const unit of units) {
    if (unit.lastVerifiedMs === undefined) counts.never++;
    else {
      const ageDays = (nowMs - unit.lastVerifiedMs) / DAY_MS;
      if (ageDays < 1) counts['< 1 d']++;
      else if (ageDays < 7) counts['1-7 d']++;
      else if (ageDays < 30) counts['7-30 d']++;
      else counts['> 30 d']++;
    }
  }
  return (Object.keys(counts) as ScrubAgeBucket['label'][]).map((label) => ({ label, datasets: counts[label] }));
}

/** Selected data sets as ranges per file (for a check plan): [first, count] pairs, ascending. */
export function rangesByFile(units: readonly ScrubUnit[]): Map<string, [number, number][]> {
  const byFile = new Map<string, number[]>();
  for (const u of units) {
    const list = byFile.get(u.fileId);
    if (list) list.push(u.datasetIndex);
    else byFile.set(u.fileId, [u.datasetIndex]);
  }
  const ranges = new Map<string, [number, number][]>();
  for (const [fileId, indexes] of byFile) {
    indexes.sort((a, b) => a - b);
    const list: [number, number][] = [];
    for (const d of indexes) {
      const last = list[list.length - 1];
      if (last && last[0] + last[1] === d) last[1]++;
      else if (!last || last[0] + last[1] < d) list.push([d, 1]);
    }
    ranges.set(fileId, list);
  }
  return ranges;
}
