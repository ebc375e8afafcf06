import type { CatalogRecord } from '../format/catalog-record.js';
import { usageError } from '../rain-error.js';
import { checkFileName } from '../format/file-name.js';
import { liveRecords, readCatalog } from './catalog.js';
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
  const catalog = await readCatalog(session.readablePaths);
  let records = liveRecords(catalog);
  if (options.names && options.names.length > 0) {
    for (const name of options.names) {
      const problem = checkFileName(name);
      if (problem) throw usageError(`invalid name '${name}': ${problem}`);
      if (!records.some((r) => r.name === name)) throw usageError(`${name}: no such file in the pool (see 'rain ls')`);
    }
    const wanted = new Set(options.names);
    records = records.filter((r) => wanted.has(r.name));
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
  const readable = session.readablePaths.length;
  if (!options.repair) {
    for (const record of records) {
      const copies = catalog.copies.get(record.name) ?? 0;
      if (copies < readable) metadataProblems.push(`${record.name}: catalog record on ${copies} of ${readable} reachable stores`);
    }
  }
  if (catalog.unreadableFiles.length > 0) metadataProblems.push(`${catalog.unreadableFiles.length} damaged catalog files (e.g. ${catalog.unreadableFiles[0]})`);
  const { orphans, anomalies } = options.names && options.names.length > 0 ? { orphans: 0, anomalies: [] } : await scanStores(session, catalog.records);
  const report = summarise(session.pool, files, [...metadataProblems, ...anomalies], orphans);
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

/** Block directories no record names, and what breaks a store's layout (FORMAT.md §1), from each store's scan. */
async function scanStores(session: PoolSession, records: ReadonlyMap<string, Pick<CatalogRecord, 'fileId' | 'deleted' | 'pack'>>): Promise<{ orphans: number; anomalies: string[] }> {
  const known = new Set([...records.values()].flatMap((r) => (r.pack && !r.deleted ? [r.fileId, r.pack.fileId] : [r.fileId])));
  const scans = await Promise.all(session.cluster.workers.filter((w) => w.alive).map(async (w) => ({ slot: w.slot, scan: await w.request<StoreScan>({ op: 'scan' }) })));
  const orphans = new Set<string>();
  for (const { scan } of scans) for (const fileId of scan.fileIds) if (!known.has(fileId)) orphans.add(fileId);
  return { orphans: orphans.size, anomalies: scans.flatMap(({ slot, scan }) => scan.anomalies.map((line) => `store ${slot}: ${line}; 'rain check' moves it aside`)) };
}

export function summarise(pool: OpenPool, files: FileHealth[], metadataProblems: string[], orphanFiles: number): PoolHealthReport {
  const stores = reportedStores(pool.stores);
  const storeProblems = stores.filter((s) => s.condition !== 'online').map(describeStoreProblem);
  const lost = files.some((f) => f.state === 'lost');
  const degraded = files.some((f) => f.state === 'degraded') || storeProblems.length > 0 || metadataProblems.length > 0;
  const verdict = lost ? 'lost' : degraded ? 'degraded' : 'healthy';
  return { poolName: pool.manifest.name, files, stores, storeProblems, metadataProblems, orphanFiles, verdict };
}
