import type { CatalogRecord } from '../format/catalog-record.js';
import { usageError } from '../rain-error.js';
import { checkFileName } from '../format/file-name.js';
import { forEachCatalogBucket } from './catalog.js';
import { appendAll } from '../format/append-all.js';
import { compareCatalogNames } from '../format/catalog-segment.js';
import { checkFiles, type FileHealth } from './check-files.js';
import type { OpenPool } from './open-pool.js';
import type { StoreScan } from '../cluster/protocol.js';
import { pendingInitialization } from './check-pool.js';
import { withSession, type PoolSession } from './pool-session.js';
import { describeStoreProblem, reportedStores, type StoreReportEntry } from './store-problem.js';
import { compactScrubLogs, readScrubTimes, recordScrub, SCRUB_LOGS_BEFORE_MERGE, withVerified } from './scrub-log.js';
import { scrubTargets, scrubUnits, selectForScrub, type ScrubCoverage, type ScrubRequest, type ScrubUnit } from './scrub-selection.js';

export interface PoolHealthReport {
  readonly poolName: string;
  readonly files: FileHealth[];
  /** Every store of the pool and the state it was found in. */
  readonly stores: StoreReportEntry[];
  readonly storeProblems: string[];
  readonly metadataProblems: string[];
  /** Block directories of files no catalog record names (an interrupted put). */
  readonly orphanFiles: number;
  readonly verdict: 'healthy' | 'degraded' | 'lost';
  /** A partial scrub (--percent, --older-than): how much of the pool it read. */
  readonly scrub?: ScrubCoverage;
}

export interface VerifyOptions {
  readonly pool?: string;
  readonly names?: readonly string[];
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** Read only the data sets verified longest ago (docs/USER-GUIDE.md §6). */
  readonly scrub?: ScrubRequest;
}

/** Reads and checks every block of every (or the named) file; repairs nothing. Exit 0 / 1 / 2. */
export async function verifyPool(options: VerifyOptions): Promise<PoolHealthReport> {
  return withSession(options.pool, 'verify', 'read', async (session) => {
    const report = await examinePool(session, { repair: false, names: options.names, onProgress: options.onProgress, scrub: options.scrub });
    const pending = await pendingInitialization(session.pool);
    if (!pending) return report;
    const interrupted = summarise(session.pool, report.files, [...report.metadataProblems, `the pool check of epoch ${pending.epoch} was interrupted; run 'rain check'`], report.orphanFiles);
    return report.scrub ? { ...interrupted, scrub: report.scrub } : interrupted;
  }, false);
}

export async function examinePool(
  session: PoolSession,
  options: { repair: boolean; names?: readonly string[]; onProgress?: (doneBytes: number, totalBytes: number) => void; scrub?: ScrubRequest },
): Promise<PoolHealthReport> {
  const startedMs = Date.now();
  const named = options.names !== undefined && options.names.length > 0;
  for (const name of options.names ?? []) {
    const problem = checkFileName(name);
    if (problem) throw usageError(`invalid name '${name}': ${problem}`);
  }
  const wanted = named ? new Set(options.names) : undefined;
  // Block directories found before the catalog is read: one a put makes meanwhile has its record by then.
  const scans = named ? undefined : await scanStores(session);
  const readable = session.readablePaths.length;
  // Names whose newest record is on fewer stores than are readable, with how many hold it.
  const shortOfCopies = new Map<string, number>();
  const unreadableFiles: string[] = [];
  let records: CatalogRecord[] = [];
  await forEachCatalogBucket(session.readablePaths, (view) => {
    for (const record of view.records.values()) {
      scans?.orphans.delete(record.fileId);
      if (record.pack && !record.deleted) scans?.orphans.delete(record.pack.fileId);
      if (record.deleted || (wanted && !wanted.has(record.name))) continue;
      records.push(record);
      const copies = view.copies.get(record.name) ?? 0;
      if (copies < readable) shortOfCopies.set(record.name, copies);
    }
    appendAll(unreadableFiles, view.unreadableFiles);
  });
  records.sort((a, b) => compareCatalogNames(a.name, b.name));
  const found = new Set(records.map((r) => r.name));
  for (const name of options.names ?? []) {
    if (!found.has(name)) throw usageError(`${name}: no such file in the pool (see 'rain ls')`);
  }
  const units = scrubUnits(scrubTargets(records), await readScrubTimes(session.readablePaths));
  const partial = options.scrub !== undefined && (options.scrub.percent !== undefined || options.scrub.olderThanDays !== undefined);
  const { selected, coverage } = selectForScrub(units, partial ? options.scrub ?? {} : {}, startedMs);
  const chosen = new Set(selected.map((u) => `${u.fileId}:${u.datasetIndex}`));
  const isSelected = (fileId: string, datasetIndex: number): boolean => chosen.has(`${fileId}:${datasetIndex}`);
  if (partial) {
    records = records.filter((r) => (r.pack ? isSelected(r.pack.fileId, 0) : Array.from({ length: r.datasetCount }, (_, d) => d).some((d) => isSelected(r.fileId, d))));
  }
  // A directory entry has no data sets: nothing to check but its record's copies (below).
  const withData = records.filter((r) => r.kind !== 'dir');
  const files = await checkFiles(session, withData, options.repair, options.onProgress, partial ? isSelected : undefined);
  // Only data sets found good are recorded: a bad one stays the oldest, so every run reads and reports it again.
  const good = selected.filter(goodIn(withData, files));
  await recordScrub(session.writablePaths, good, startedMs);
  const wholePool = !options.names || options.names.length === 0;
  if (wholePool) await compactScrubLogs(session.writablePaths, withVerified(units, good, startedMs), SCRUB_LOGS_BEFORE_MERGE);
  const metadataProblems = [...session.pool.manifestProblems];
  if (!options.repair) {
    for (const record of records) {
      const copies = shortOfCopies.get(record.name);
      if (copies !== undefined) metadataProblems.push(`${record.name}: catalog record on ${copies} of ${readable} reachable stores`);
    }
  }
  if (unreadableFiles.length > 0) metadataProblems.push(`${unreadableFiles.length} damaged catalog files (e.g. ${unreadableFiles[0]})`);
  const report = summarise(session.pool, files, [...metadataProblems, ...(scans?.anomalies ?? [])], scans?.orphans.size ?? 0);
  return partial ? { ...report, scrub: coverage } : report;
}

/** Whether a checked data set was found good: its file healthy, or for a pack, every file packed in it. */
/** `files[i]` is the health of `records[i]` (checkFiles keeps the order). */
function goodIn(records: readonly CatalogRecord[], files: readonly FileHealth[]): (unit: ScrubUnit) => boolean {
  if (records.length !== files.length) throw new Error(`verify: ${files.length} file reports for ${records.length} records`);
  const healthy = new Map<string, boolean>();
  records.forEach((record, i) => {
    const fileId = record.pack ? record.pack.fileId : record.fileId;
    healthy.set(fileId, (healthy.get(fileId) ?? true) && files[i].state === 'healthy');
  });
  return (unit) => healthy.get(unit.fileId) === true;
}

/**
 * Every block directory the stores hold (`orphans`, until the catalog names them: what is left is
 * an interrupted put's), and what breaks a store's layout (FORMAT.md §1), from each store's scan.
 */
async function scanStores(session: PoolSession): Promise<{ orphans: Set<string>; anomalies: string[] }> {
  const scans = await Promise.all(session.cluster.workers.filter((w) => w.alive).map(async (w) => ({ slot: w.slot, scan: await w.request<StoreScan>({ op: 'scan' }) })));
  const orphans = new Set<string>();
  for (const { scan } of scans) for (const fileId of scan.fileIds) orphans.add(fileId);
  return { orphans, anomalies: scans.flatMap(({ slot, scan }) => scan.anomalies.map((line) => `store ${slot}: ${line}; 'rain check' moves it aside`)) };
}

export function summarise(pool: OpenPool, files: FileHealth[], metadataProblems: string[], orphanFiles: number): PoolHealthReport {
  const stores = reportedStores(pool.stores);
  const storeProblems = stores.filter((s) => s.condition !== 'online').map(describeStoreProblem);
  const lost = files.some((f) => f.state === 'lost');
  const degraded = files.some((f) => f.state === 'degraded') || storeProblems.length > 0 || metadataProblems.length > 0;
  const verdict = lost ? 'lost' : degraded ? 'degraded' : 'healthy';
  return { poolName: pool.manifest.name, files, stores, storeProblems, metadataProblems, orphanFiles, verdict };
}
