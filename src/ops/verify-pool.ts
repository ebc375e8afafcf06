import type { CatalogRecord } from '../format/catalog-record.js';
import { usageError } from '../rain-error.js';
import { checkFileName } from '../format/file-name.js';
import { catalogBuckets, forEachNewestBucket, readCatalog, type CatalogView, type NewestRecords } from './catalog.js';
import { appendAll } from '../format/append-all.js';
import { compareCatalogNames } from '../format/catalog-segment.js';
import { FileChecks, type FileHealth } from './check-files.js';
import { HealthTally, type HealthSummary, type KeptFiles } from '../dataset/health-tally.js';
import { CATALOG_BUCKETS } from '../store/store-layout.js';
import type { OpenPool } from './open-pool.js';
import type { StoreScan } from '../cluster/protocol.js';
import { pendingInitialization } from './check-pool.js';
import { withSession, type PoolSession } from './pool-session.js';
import { describeStoreProblem, reportedStores, type StoreReportEntry } from './store-problem.js';
import { compactScrubLogs, readScrubTimes, recordScrub, SCRUB_LOGS_BEFORE_MERGE, withVerified } from './scrub-log.js';
import { scrubTargets, scrubUnits, selectForScrub, type ScrubCoverage, type ScrubRequest, type ScrubUnit } from './scrub-selection.js';

export interface PoolHealthReport {
  readonly poolName: string;
  /** The files the report keeps (VerifyOptions.keepFiles; every file by default), in name order. */
  readonly files: FileHealth[];
  /** Counts over every file checked, whichever of them `files` keeps. */
  readonly summary: HealthSummary;
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
  /**
   * Which files' health the report keeps besides the counts: 'all' (the default; --json),
   * 'troubled' (--verbose), or at most N of the worst (a summary: memory that does not grow with
   * the pool).
   */
  readonly keepFiles?: KeptFiles;
}

/**
 * Catalog records read ahead of the check: the next buckets are decoded while the workers check
 * the files of earlier ones, until this many records wait for their verdicts (a pack's files wait
 * for the pack's check). Small on purpose: on two cores the coordinator's decoding and the
 * workers' checks share the CPU, and reading far ahead was slower and bigger (50,000 files, four
 * runs each: 4,096 -> 2.6 s, 155 MB; 32,768 -> 2.8 s, 190 MB; none -> 2.7 s, 150 MB).
 */
const RECORDS_IN_FLIGHT_MAX = 4_096;

/** Reads and checks every block of every (or the named) file; repairs nothing. Exit 0 / 1 / 2. */
export async function verifyPool(options: VerifyOptions): Promise<PoolHealthReport> {
  return withSession(options.pool, 'verify', 'read', async (session) => {
    const report = await examinePool(session, { repair: false, names: options.names, onProgress: options.onProgress, scrub: options.scrub, keepFiles: options.keepFiles });
    const pending = await pendingInitialization(session.pool);
    if (!pending) return report;
    const metadataProblems = [...report.metadataProblems, `the pool check of epoch ${pending.epoch} was interrupted; run 'rain check'`];
    return { ...report, metadataProblems, verdict: verdictOf(report.summary, report.storeProblems, metadataProblems) };
  }, false);
}

/**
 * The check of every live record's data sets. The whole pool is read one catalog bucket at a
 * time, the next bucket decoded while the workers check the files of the ones before (at most
 * RECORDS_IN_FLIGHT_MAX records held), and each file's health is folded into the report's
 * counts as it settles: memory does not grow with the pool unless the report keeps every file.
 * A partial scrub first reads the catalog once to choose the oldest data sets of the whole pool.
 */
export async function examinePool(
  session: PoolSession,
  options: { repair: boolean; names?: readonly string[]; onProgress?: (doneBytes: number, totalBytes: number) => void; scrub?: ScrubRequest; keepFiles?: KeptFiles },
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
  const live = (view: NewestRecords): CatalogRecord[] => {
    const records: CatalogRecord[] = [];
    for (const record of view.records.values()) {
      scans?.orphans.delete(record.fileId);
      if (record.pack && !record.deleted) scans?.orphans.delete(record.pack.fileId);
      if (record.deleted || (wanted && !wanted.has(record.name))) continue;
      records.push(record);
    }
    return records;
  };
  // Named files are looked up at once (one batch); the whole pool is read bucket by bucket.
  const namedView = wanted ? await readCatalog(session.readablePaths, [...wanted]) : undefined;
  if (namedView) {
    const found = new Set(live(namedView).map((r) => r.name));
    for (const name of options.names ?? []) {
      if (!found.has(name)) throw usageError(`${name}: no such file in the pool (see 'rain ls')`);
    }
  }
  const batches = (): AsyncIterable<CatalogView> => (namedView ? only(namedView) : catalogBuckets(session.readablePaths));
  const times = await readScrubTimes(session.readablePaths);
  const partial = options.scrub !== undefined && (options.scrub.percent !== undefined || options.scrub.olderThanDays !== undefined);

  // Every data set of the pool with its last verify time: gathered by the check's own pass, or
  // for a partial scrub by a pass before it (the oldest of the whole pool are chosen first).
  const units: ScrubUnit[] = [];
  const unitPacks = new Set<string>();
  let selection: { selected: ScrubUnit[]; coverage: ScrubCoverage; isSelected: (fileId: string, datasetIndex: number) => boolean } | undefined;
  if (partial) {
    if (namedView) appendAll(units, scrubUnits(scrubTargets(live(namedView), unitPacks), times));
    else await forEachNewestBucket(session.readablePaths, (view) => appendAll(units, scrubUnits(scrubTargets(live(view), unitPacks), times)));
    const { selected, coverage } = selectForScrub(units, options.scrub ?? {}, startedMs);
    const chosen = new Set(selected.map((u) => `${u.fileId}:${u.datasetIndex}`));
    selection = { selected, coverage, isSelected: (fileId, datasetIndex) => chosen.has(`${fileId}:${datasetIndex}`) };
  }
  const isSelected = selection?.isSelected;
  const selectedRecord = (r: CatalogRecord): boolean => isSelected === undefined
    || (r.pack ? isSelected(r.pack.fileId, 0) : Array.from({ length: r.datasetCount }, (_, d) => d).some((d) => isSelected(r.fileId, d)));

  const bucketCount = namedView ? 1 : CATALOG_BUCKETS.length;
  let bucketsRead = 0;
  let doneBytes = 0;
  let packBytes = 0;
  let fileBytes = 0;
  // Until every bucket is read, the files' share is extrapolated from the buckets read so far
  // (names hash evenly over the buckets); a pack is counted whole when its first file comes by.
  const estimatedTotal = (): number => Math.max(doneBytes, packBytes + Math.round((fileBytes * bucketCount) / Math.max(1, bucketsRead)));
  const checks = new FileChecks(session, options.repair, (bytes) => {
    doneBytes += bytes;
    options.onProgress?.(doneBytes, estimatedTotal());
  }, isSelected);

  const tally = new HealthTally(options.keepFiles ?? 'all');
  // Files (a pack's by the pack's id) some of whose checked data sets were not found good.
  const notGood = new Set<string>();
  const checkedUnitFiles = new Set<string>();
  const shortOfCopies: [string, string][] = [];
  const unreadableFiles: string[] = [];
  const running = new Set<Promise<void>>();
  let failure: unknown;
  let recordsInFlight = 0;
  for await (const view of batches()) {
    bucketsRead++;
    const records = live(view).filter(selectedRecord);
    if (!partial) appendAll(units, scrubUnits(scrubTargets(records, unitPacks), times));
    if (!options.repair) {
      for (const record of records) {
        const copies = view.copies.get(record.name) ?? 0;
        if (copies < readable) shortOfCopies.push([record.name, `${record.name}: catalog record on ${copies} of ${readable} reachable stores`]);
      }
    }
    appendAll(unreadableFiles, view.unreadableFiles);
    // A directory entry has no data sets: nothing to check but its record's copies (above).
    const withData = records.filter((r) => r.kind !== 'dir');
    const bytes = checks.bytesToCheck(withData);
    packBytes += bytes.packBytes;
    fileBytes += bytes.fileBytes;
    recordsInFlight += withData.length;
    const tracked: Promise<void> = checks.check(withData).then((healths) => {
      healths.forEach((health, i) => {
        const record = withData[i];
        const unitFile = record.pack ? record.pack.fileId : record.fileId;
        tally.add(health);
        if (health.state !== 'healthy') notGood.add(unitFile);
        if (partial) checkedUnitFiles.add(unitFile);
      });
    }).catch((error: unknown) => {
      failure ??= error;
    }).finally(() => {
      recordsInFlight -= withData.length;
      running.delete(tracked);
    });
    running.add(tracked);
    while (recordsInFlight > RECORDS_IN_FLIGHT_MAX && failure === undefined) await Promise.race(running);
    if (failure !== undefined) break;
  }
  await Promise.all(running);
  if (failure !== undefined) throw failure;
  options.onProgress?.(doneBytes, doneBytes);

  // Only data sets found good are recorded: a bad one stays the oldest, so every run reads and reports it again.
  const good = (selection ? selection.selected.filter((u) => checkedUnitFiles.has(u.fileId)) : units).filter((u) => !notGood.has(u.fileId));
  await recordScrub(session.writablePaths, good, startedMs);
  if (!named) await compactScrubLogs(session.writablePaths, withVerified(units, good, startedMs), SCRUB_LOGS_BEFORE_MERGE);
  const metadataProblems = [...session.pool.manifestProblems, ...shortOfCopies.sort((a, b) => compareCatalogNames(a[0], b[0])).map(([, line]) => line)];
  if (unreadableFiles.length > 0) metadataProblems.push(`${unreadableFiles.length} damaged catalog files (e.g. ${unreadableFiles[0]})`);
  appendAll(metadataProblems, scans?.anomalies ?? []);
  const report = summarise(session.pool, tally.files(), tally.summary(), metadataProblems, scans?.orphans.size ?? 0);
  return selection ? { ...report, scrub: selection.coverage } : report;
}

async function* only(view: CatalogView): AsyncGenerator<CatalogView> {
  yield view;
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

function summarise(pool: OpenPool, files: FileHealth[], summary: HealthSummary, metadataProblems: string[], orphanFiles: number): PoolHealthReport {
  const stores = reportedStores(pool.stores);
  const storeProblems = stores.filter((s) => s.condition !== 'online').map(describeStoreProblem);
  return { poolName: pool.manifest.name, files, summary, stores, storeProblems, metadataProblems, orphanFiles, verdict: verdictOf(summary, storeProblems, metadataProblems) };
}

function verdictOf(summary: HealthSummary, storeProblems: readonly string[], metadataProblems: readonly string[]): PoolHealthReport['verdict'] {
  if (summary.states.lost > 0) return 'lost';
  return summary.states.degraded > 0 || storeProblems.length > 0 || metadataProblems.length > 0 ? 'degraded' : 'healthy';
}
