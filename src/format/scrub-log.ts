import { isId } from './ids.js';
import { isRecord, sealJson, unsealJson } from './sealed-json.js';

export const SCRUB_LOG_FORMAT = 'rain-scrub/1';

/** Ranges written per line: a line stays small (about 70 bytes a range) whatever the run verified. */
export const SCRUB_RANGES_PER_LINE = 1024;

/**
 * Data sets firstDataset .. firstDataset + count - 1 of one file, all at one data set sequence,
 * found good by a verify or check (docs/FORMAT.md §8). A pack is file `fileId`, data set 0.
 */
export interface ScrubRange {
  readonly fileId: string;
  readonly sequence: bigint;
  readonly firstDataset: number;
  readonly count: number;
}

/** One line of a scrub log: the ranges one run found good, and when it started reading them. */
export interface ScrubEntry {
  /** Milliseconds since 1970 (UTC) at the start of the run that read them. */
  readonly verifiedAtMs: number;
  readonly ranges: readonly ScrubRange[];
}

export interface DecodedScrubLog {
  readonly entries: ScrubEntry[];
  /** Lines that do not decode (a torn last line, a bit flip): ignored, they only make data sets look older. */
  readonly damagedLines: number;
}

/**
 * A scrub log is lines of sealed JSON, each checked on its own, each one run's ranges at one time:
 *   {"crc32":C,"body":{"format":"rain-scrub/1","verifiedAt":MS,"sets":[[fileId,"sequence",first,count],...]}}
 */
export function encodeScrubLog(entries: readonly ScrubEntry[]): string {
  const lines: string[] = [];
  for (const entry of entries) {
    if (!Number.isSafeInteger(entry.verifiedAtMs) || entry.verifiedAtMs < 0) throw new Error(`refusing to write a scrub time of ${entry.verifiedAtMs}`);
    for (let start = 0; start < entry.ranges.length; start += SCRUB_RANGES_PER_LINE) {
      const sets = entry.ranges.slice(start, start + SCRUB_RANGES_PER_LINE).map((r) => {
        if (rangeProblem(r)) throw new Error(`refusing to write a scrub range: ${rangeProblem(r)}`);
        return [r.fileId, r.sequence.toString(), r.firstDataset, r.count];
      });
      lines.push(sealJson({ format: SCRUB_LOG_FORMAT, verifiedAt: entry.verifiedAtMs, sets }));
    }
  }
  return lines.join('');
}

export function decodeScrubLog(text: string): DecodedScrubLog {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const entries: ScrubEntry[] = [];
  let damagedLines = 0;
  for (const line of lines) {
    const entry = decodeLine(line);
    if (entry) entries.push(entry);
    else damagedLines++;
  }
  return { entries, damagedLines };
}

/** A line counts whole or not at all: one bad range makes the line damaged. */
function decodeLine(line: string): ScrubEntry | undefined {
  const sealed = unsealJson(line);
  if (!sealed.ok || !isRecord(sealed.body) || sealed.body.format !== SCRUB_LOG_FORMAT) return undefined;
  const verifiedAtMs = sealed.body.verifiedAt;
  const sets = sealed.body.sets;
  if (typeof verifiedAtMs !== 'number' || !Number.isSafeInteger(verifiedAtMs) || verifiedAtMs < 0 || !Array.isArray(sets)) return undefined;
  const ranges: ScrubRange[] = [];
  for (const set of sets as unknown[]) {
    if (!Array.isArray(set) || set.length !== 4) return undefined;
    const [fileId, sequence, firstDataset, count] = set as unknown[];
    if (typeof sequence !== 'string' || !/^\d{1,20}$/.test(sequence) || typeof firstDataset !== 'number' || typeof count !== 'number') return undefined;
    const range = { fileId: String(fileId), sequence: BigInt(sequence), firstDataset, count };
    if (rangeProblem(range)) return undefined;
    ranges.push(range);
  }
  return { verifiedAtMs, ranges };
}

function rangeProblem(r: ScrubRange): string | undefined {
  if (!isId(r.fileId)) return `bad file id '${r.fileId}'`;
  if (r.sequence < 0n || r.sequence >= 2n ** 64n) return `sequence ${r.sequence} out of range`;
  if (!Number.isSafeInteger(r.firstDataset) || r.firstDataset < 0) return `bad first data set ${r.firstDataset}`;
  if (!Number.isSafeInteger(r.count) || r.count < 1) return `bad data set count ${r.count}`;
  return undefined;
}

/** The key of one data set at one sequence in a ScrubTimes map. */
export function scrubKey(fileId: string, datasetIndex: number, sequence: bigint): string {
  return `${fileId}:${datasetIndex}:${sequence}`;
}

/** When each data set (at its sequence) was last found good: the newest time any entry gives it. */
export type ScrubTimes = Map<string, number>;

export function foldScrubEntries(into: ScrubTimes, entries: readonly ScrubEntry[]): void {
  for (const entry of entries) {
    for (const r of entry.ranges) {
      for (let d = r.firstDataset; d < r.firstDataset + r.count; d++) {
        const key = scrubKey(r.fileId, d, r.sequence);
        if ((into.get(key) ?? -1) < entry.verifiedAtMs) into.set(key, entry.verifiedAtMs);
      }
    }
  }
}

/**
 * Data sets (file id, index, sequence) as few ranges as possible, grouped by time: one entry per
 * distinct time, consecutive data sets of a file at one sequence in one range.
 */
export function scrubEntriesOf(datasets: readonly { fileId: string; datasetIndex: number; sequence: bigint; verifiedAtMs: number }[]): ScrubEntry[] {
  const sorted = [...datasets].sort((a, b) => a.verifiedAtMs - b.verifiedAtMs
    || (a.fileId < b.fileId ? -1 : a.fileId > b.fileId ? 1 : 0)
    || a.datasetIndex - b.datasetIndex);
  const entries: ScrubEntry[] = [];
  let ranges: ScrubRange[] = [];
  let at = -1;
  let open: { fileId: string; sequence: bigint; firstDataset: number; count: number } | undefined;
  const closeRange = (): void => {
    if (open) ranges.push(open);
    open = undefined;
  };
  const closeEntry = (): void => {
    closeRange();
    if (ranges.length > 0) entries.push({ verifiedAtMs: at, ranges });
    ranges = [];
  };
  for (const d of sorted) {
    if (d.verifiedAtMs !== at) {
      closeEntry();
      at = d.verifiedAtMs;
    }
    if (open && open.fileId === d.fileId && open.sequence === d.sequence && open.firstDataset + open.count === d.datasetIndex) {
      open.count++;
      continue;
    }
    if (open && open.fileId === d.fileId && open.sequence === d.sequence && d.datasetIndex < open.firstDataset + open.count) continue;
    closeRange();
    open = { fileId: d.fileId, sequence: d.sequence, firstDataset: d.datasetIndex, count: 1 };
  }
  closeEntry();
  return entries;
}
