import { decodeScrubLog, encodeScrubLog, foldScrubEntries, scrubEntriesOf, scrubKey, type ScrubTimes } from '../format/scrub-log.js';
import { storeAt } from '../store/store-set.js';
import type { ScrubUnit } from './scrub-selection.js';

/**
 * A store's scrub logs are merged into one once it holds this many (a nightly verify adds one a
 * night; a check merges them whatever their number).
 */
export const SCRUB_LOGS_BEFORE_MERGE = 16;

/**
 * When each data set was last found good, from the scrub logs of every given store merged (the
 * newest time wins): a store that missed a run, or lost its logs, costs nothing while another
 * has them. A store that cannot be read adds nothing; no log at all means "never verified".
 */
export async function readScrubTimes(storePaths: readonly string[]): Promise<ScrubTimes> {
  const times: ScrubTimes = new Map();
  const logs = await Promise.all(storePaths.map((p) => storeAt(p).readScrubLogs().catch(() => [])));
  for (const log of logs.flat()) foldScrubEntries(times, decodeScrubLog(log.text).entries);
  return times;
}

/**
 * Records that a run found these data sets good: one new log file on every given store, written
 * once (docs/FORMAT.md §8). A store that cannot take it is skipped (its data sets only look older
 * there, and the others have the record). Returns how many stores took it.
 */
export async function recordScrub(storePaths: readonly string[], good: readonly ScrubUnit[], verifiedAtMs: number): Promise<number> {
  if (good.length === 0) return 0;
  const text = encodeScrubLog(scrubEntriesOf(good.map((u) => ({ ...u, verifiedAtMs }))));
  const written = await Promise.all(storePaths.map((p) => storeAt(p).writeScrubLog(text).then(() => 1, () => 0)));
  return written.reduce<number>((sum, n) => sum + n, 0);
}

/**
 * Replaces each store's scrub logs with one that holds the newest time of every live data set
 * (`live`: every data set of the pool, with the times this run knows): entries of data sets that
 * were rewritten or deleted are left out, so a log's size follows the pool's, not its age. The
 * new log is durable before the old ones are removed, and the old ones are read again first, so
 * a log another run wrote meanwhile is either merged or left in place. A crash in between leaves
 * both (duplicates, merged next time). Only stores holding at least `minLogs` logs are merged.
 * Returns the logs removed.
 */
export async function compactScrubLogs(storePaths: readonly string[], live: readonly ScrubUnit[], minLogs: number): Promise<number> {
  let removed = 0;
  for (const storePath of storePaths) {
    try {
      const store = storeAt(storePath);
      const logs = await store.readScrubLogs();
      if (logs.length < Math.max(minLogs, 2)) continue;
      const times: ScrubTimes = new Map();
      for (const log of logs) foldScrubEntries(times, decodeScrubLog(log.text).entries);
      const kept = live.flatMap((u) => {
        const key = scrubKey(u.fileId, u.datasetIndex, u.sequence);
        const at = Math.max(times.get(key) ?? -1, u.lastVerifiedMs ?? -1);
        return at < 0 ? [] : [{ ...u, verifiedAtMs: at }];
      });
      if (kept.length > 0) await store.writeScrubLog(encodeScrubLog(scrubEntriesOf(kept)));
      await store.removeScrubLogs(logs.map((l) => l.file));
      removed += logs.length;
    } catch {
      // This store stays as it is: its logs still read, and the next run merges them.
    }
  }
  return removed;
}

/** The units with this run's good ones stamped at its time (what a compaction right after it keeps). */
export function withVerified(units: readonly ScrubUnit[], good: readonly ScrubUnit[], verifiedAtMs: number): ScrubUnit[] {
  const goodKeys = new Set(good.map((u) => scrubKey(u.fileId, u.datasetIndex, u.sequence)));
  return units.map((u) => (goodKeys.has(scrubKey(u.fileId, u.datasetIndex, u.sequence)) ? { ...u, lastVerifiedMs: verifiedAtMs } : u));
}
