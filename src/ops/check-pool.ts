import { runInitialization, type InitializationResult } from '../cluster/agreement/init-coordinator.js';
import { staleAfterMs, waitForActiveMs } from '../cluster/timing.js';
import { allowsCatalogSegments, type Manifest } from '../format/manifest.js';
import { ioError } from '../rain-error.js';
import { readNewestRecords } from './catalog.js';
import { keepCatalogsUp } from './catalog-upkeep.js';
import { storeAt } from '../store/store-set.js';

/** Temp files untouched this long are leftovers of killed commands. */
const STALE_TEMP_MS = 60 * 60 * 1000;
import { buildCheckPlan, type BuiltPlan } from './check-plan.js';
import type { FileHealth } from '../dataset/file-health.js';
import { HealthTally, type HealthSummary, type KeptFiles } from '../dataset/health-tally.js';
import { PACK_BLOCK_NAME } from '../format/catalog-record.js';
import { openPool, storeAccess, type OpenPool } from './open-pool.js';
import { clearStoreFaults } from './store-faults.js';
import { describeStoreProblem, reportedStores, type StoreReportEntry } from './store-problem.js';
import { compactScrubLogs, readScrubTimes, recordScrub, withVerified } from './scrub-log.js';
import { rangesByFile, scrubUnits, selectForScrub, type ScrubCoverage, type ScrubRequest, type ScrubUnit } from './scrub-selection.js';

export interface CheckOptions {
  readonly pool?: string;
  readonly repair?: boolean;
  /** Replaces the membership (rebuild --replace): the manifest committed at the new epoch. */
  readonly manifest?: Manifest;
  readonly onPhase?: (phase: string) => void;
  /** File bytes of the data sets checked so far, of all to check (a progress bar). */
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
  readonly openedPool?: OpenPool;
  /** Check only the data sets verified longest ago (docs/USER-GUIDE.md §6); repairs what it reads. */
  readonly scrub?: ScrubRequest;
  /** Stores rebuild re-created empty or replaced: their blocks are restored from k others (dataset/rebuild-from-k.ts). */
  readonly lostSlots?: readonly number[];
  /** Say in `repackDue` whether packs are due for repacking (check-and-compact.ts: `rain check` only). */
  readonly considerRepack?: boolean;
  /** Which files' health the report keeps besides the counts (every file by default; a summary keeps a few). */
  readonly keepFiles?: KeptFiles;
}

export interface CheckReport extends InitializationResult {
  /** Counts over every file checked (a packed file is a file of its own, with its pack's verdict). */
  readonly health: HealthSummary;
  readonly poolName: string;
  /** Every store of the pool and the state it was found in. */
  readonly stores: StoreReportEntry[];
  readonly storeProblems: string[];
  readonly verdict: 'healthy' | 'degraded' | 'lost';
  /** Something was repaired, rolled forward or back, or refreshed (the pool may be healthy now, but it was not). */
  readonly changed: boolean;
  /** Set when another coordinator held the epoch: its result is reported instead of running twice. */
  readonly ranBy?: string;
  /** A partial check (--percent, --older-than): how much of the pool it read. */
  readonly scrub?: ScrubCoverage;
  /** Blocks a rebuild did not read (k others restored the lost ones), each pack's counted once. */
  readonly unreadBlocks: number;
  /**
   * A full check that left the pool healthy found packs whose live share is low: check-and-compact.ts
   * repacks them (docs/FORMAT.md §5.1). Not part of the report it prints.
   */
  readonly repackDue?: boolean;
}

/**
 * `rain check`: the whole initialization protocol with repair (M4-M9). If another check claims
 * the epoch first, this one waits for it and reports its result, so two cron jobs never check twice.
 */
export async function checkPool(options: CheckOptions): Promise<CheckReport> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const pool = options.openedPool && attempt === 0 ? options.openedPool : await openPool(options.pool);
    const manifest = options.manifest ?? pool.manifest;
    const access = options.manifest ? await accessFor(options.manifest, pool) : storeAccess(pool.stores);
    const readablePaths = access.filter((s) => s.readable).map((s) => s.path);
    const writablePaths = access.filter((s) => s.writable).map((s) => s.path);
    // A live check already holds a newer epoch: wait for it and report its result, never run beside it.
    const running = await pendingInitialization(pool);
    if (running?.alive && !options.manifest) {
      const after = await waitForEpoch(pool, running.epoch);
      if (after?.manifest.lastCheck && after.manifest.epoch >= running.epoch) return reportOfOther(after, 'a concurrent check');
      continue;
    }
    const repair = options.repair ?? true;
    let deletedWithBlocks: ReadonlySet<string> = new Set();
    let packMembers: BuiltPlan['packMembers'] = new Map();
    let repackDue = false;
    const startedMs = Date.now();
    let scrub: { units: ScrubUnit[]; selected: ScrubUnit[]; coverage: ScrubCoverage; partial: boolean } | undefined;
    const outcome = await runInitialization({
      manifest, committedEpoch: pool.manifest.epoch, access, repair, purpose: options.manifest ? 'rebuild --replace' : 'check',
      buildPlan: async (cluster) => {
        const built = await buildCheckPlan(cluster, access.filter((s) => s.readable), manifest.stores.map((s) => s.slot), repair, repair ? options.lostSlots : []);
        deletedWithBlocks = built.deletedWithBlocks;
        packMembers = built.packMembers;
        repackDue = built.repackDue;
        const units = scrubUnits(built.contents.committed, await readScrubTimes(readablePaths));
        const partial = options.scrub !== undefined && (options.scrub.percent !== undefined || options.scrub.olderThanDays !== undefined);
        const { selected, coverage } = selectForScrub(units, partial ? options.scrub ?? {} : {}, startedMs);
        scrub = { units, selected, coverage, partial };
        if (!partial) return { contents: built.contents, repairs: built.movedAside, problems: built.anomalies };
        const ranges = rangesByFile(selected);
        const committed = built.contents.committed.map((file) => ({ ...file, datasetsToCheck: ranges.get(file.fileId) ?? [] }));
        const scope = {
          ...(coverage.percent === undefined ? {} : { percent: coverage.percent }),
          ...(coverage.olderThanDays === undefined ? {} : { olderThanDays: coverage.olderThanDays }),
          totalDatasets: coverage.totalDatasets,
        };
        return {
          contents: { ...built.contents, committed }, repairs: built.movedAside, problems: built.anomalies,
          partial: { scope, checkedDatasets: coverage.selectedDatasets },
        };
      },
      rereadRecords: async (names) => {
        const readable = access.filter((s) => s.readable).map((s) => s.path);
        const view = await readNewestRecords(readable, names).catch(() => undefined);
        return view?.records;
      },
      afterCheck: async (deletedCleaned) => {
        // Damaged or behind manifest copies are rewritten by the commit below; a damaged identity
        // file here, from the manifest's entry for the slot (open-pool.ts decided it is this store).
        const repairs: string[] = pool.manifestProblems.filter((p) => !p.includes('identity file')).map((problem) => `manifest refreshed: ${problem}`);
        for (const store of pool.stores) {
          if (!store.identityDamaged || store.condition !== 'online') continue;
          await storeAt(store.path).writeIdentity({ poolId: manifest.poolId, storeId: store.storeId, slot: store.slot })
            .then(() => repairs.push(`store ${store.slot} (${store.path}): identity file rewritten (it was damaged: ${store.identityDamaged})`))
            .catch(() => undefined);
        }
        const housekeeping: string[] = [];
        let temps = 0;
        for (const storePath of writablePaths) temps += await storeAt(storePath).removeStaleTempFiles(STALE_TEMP_MS).catch(() => 0);
        if (temps > 0) housekeeping.push(`${temps} temporary files left by killed commands removed`);
        let intents = 0;
        for (const storePath of writablePaths) intents += await storeAt(storePath).removeDeadIntents(STALE_TEMP_MS).catch(() => 0);
        if (intents > 0) housekeeping.push(`${intents} writer announcements of killed commands removed`);
        const upkeep = await keepCatalogsUp(readablePaths, writablePaths, {
          segments: allowsCatalogSegments(manifest),
          collectTombstones: access.every((s) => s.writable),
          keepFileIds: new Set([...deletedWithBlocks].filter((fileId) => !deletedCleaned.has(fileId))),
        });
        if (upkeep.copied > 0) repairs.push(`${upkeep.copied} catalog record copies written to stores that lacked them`);
        if (upkeep.collected > 0) housekeeping.push(`${upkeep.collected} delete records collected (every store has seen them)`);
        if (upkeep.merged > 0) housekeeping.push(`${upkeep.merged} catalog segments merged`);
        return { repairs, housekeeping };
      },
      onPhase: options.onPhase,
      onProgress: options.onProgress,
    });
    if (outcome.kind === 'completed') {
      if (scrub) await recordCheckScrub(writablePaths, scrub, outcome.result.files, startedMs);
      // A full check that left every data set healthy has seen through every earlier failed write.
      if (!scrub?.partial && outcome.result.lastCheck.verdict === 'healthy') {
        await clearStoreFaults(writablePaths, manifest.stores.map((s) => s.slot), startedMs);
      }
      const anchor = access.find((s) => s.writable)?.path ?? options.pool;
      // Counted before a pack's verdict is copied to each of its files, so a pack's blocks count once.
      const unreadBlocks = outcome.result.files.reduce((sum, f) => sum + f.unreadBlocks, 0);
      const tally = tallyFiles(outcome.result.files, packMembers, options.keepFiles ?? 'all');
      const report = summarise(await openPool(anchor), { ...outcome.result, files: tally.files() }, tally.summary(), unreadBlocks);
      if (scrub?.partial) return { ...report, scrub: scrub.coverage };
      // Garbage in packs comes back once the pool is healthy (repairs first): without a lock,
      // after the epoch is committed, and only when a pack's live share is low (no session otherwise).
      if (!options.considerRepack || !repair || options.manifest || report.verdict !== 'healthy') return report;
      return repackDue ? { ...report, repackDue: true } : report;
    }
    const after = await waitForEpoch(pool, outcome.epoch);
    if (after && after.manifest.epoch >= outcome.epoch && after.manifest.lastCheck && !options.manifest) {
      return reportOfOther(after, `pid ${outcome.holderPid ?? '?'} on ${outcome.holderHost ?? '?'}`);
    }
    // The other claimant died or committed something else: try again with a newer epoch.
  }
  throw ioError('could not claim an epoch after 3 attempts (other checks keep starting); try again');
}

/**
 * Records the data sets the check left good (healthy, or repaired) in the scrub logs, then merges
 * each store's logs into one: the check runs alone in its epoch, and it knows every live data set.
 */
async function recordCheckScrub(
  writablePaths: readonly string[], scrub: { units: ScrubUnit[]; selected: ScrubUnit[] }, files: readonly FileHealth[], startedMs: number,
): Promise<void> {
  // A file whose rebuild left blocks unread was not scrubbed: its data sets keep their old time.
  const healthy = new Set(files.filter((f) => f.state === 'healthy' && f.unreadBlocks === 0).map((f) => f.fileId));
  const good = scrub.selected.filter((u) => healthy.has(u.fileId));
  await recordScrub(writablePaths, good, startedMs);
  await compactScrubLogs(writablePaths, withVerified(scrub.units, good, startedMs), 2);
}

/**
 * A pack was checked as one data set; its files are what the user knows, so each of them gets
 * the pack's verdict (a pack no live file refers to any more keeps a line of its own). Each file
 * is folded into the tally as it is made and kept only if the report lists it: a routine check of
 * 1,000,000 packed files held a health entry for each (the coordinator's largest cost).
 */
function tallyFiles(files: readonly FileHealth[], packMembers: BuiltPlan['packMembers'], keep: KeptFiles): HealthTally {
  const tally = new HealthTally(keep);
  for (const health of files) {
    if (health.name !== PACK_BLOCK_NAME) {
      tally.add(health);
      continue;
    }
    const members = packMembers.get(health.fileId);
    if (!members) {
      tally.add({ ...health, name: `(pack ${health.fileId})` });
      continue;
    }
    // The pack's counts and lists are shared by its members, not copied per member.
    for (let i = 0; i < members.length; i++) tally.add({ ...health, name: members.name(i), fileId: members.fileId(i), sizeBytes: members.sizeBytes(i) });
  }
  return tally;
}

function reportOfOther(pool: OpenPool, ranBy: string): CheckReport {
  const lastCheck = pool.manifest.lastCheck as NonNullable<Manifest['lastCheck']>;
  const nothing = { epoch: pool.manifest.epoch, phases: [], workers: [], files: [], versionReports: [], actions: [], storeFaults: [], housekeeping: [], lastCheck };
  return { ...summarise(pool, nothing, new HealthTally(0).summary(), 0), ranBy };
}

/** Waits while another coordinator's claim of `epoch` is alive; returns the pool once it committed or died. */
async function waitForEpoch(pool: OpenPool, epoch: number): Promise<OpenPool | undefined> {
  const deadline = Date.now() + waitForActiveMs();
  const anchor = pool.stores.find((s) => s.condition === 'online')?.path ?? pool.stores[0].path;
  for (;;) {
    const now = await openPool(anchor);
    if (now.manifest.epoch >= epoch) return now;
    const ages = await Promise.all(now.stores.filter((s) => s.condition === 'online').map((s) => storeAt(s.path).claimSilenceMs(epoch).catch(() => undefined)));
    const freshest = Math.min(...ages.map((a) => a ?? Number.POSITIVE_INFINITY));
    if (freshest > staleAfterMs()) return undefined;
    if (Date.now() > deadline) throw ioError(`another check (epoch ${epoch}) is still running after ${Math.round(waitForActiveMs() / 1000)} s; try again later`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function accessFor(manifest: Manifest, pool: OpenPool) {
  const current = storeAccess(pool.stores);
  return manifest.stores.map((s) => current.find((c) => c.slot === s.slot && c.path === s.path) ?? { slot: s.slot, path: s.path, readable: true, writable: true });
}

function summarise(pool: OpenPool, result: InitializationResult, health: HealthSummary, unreadBlocks: number): CheckReport {
  const stores = reportedStores(pool.stores);
  const storeProblems = [
    ...stores.filter((s) => s.condition !== 'online').map(describeStoreProblem),
    ...result.storeFaults,
  ];
  const unresolved = result.versionReports.filter((v) => v.outcome === 'unresolved').length;
  const lost = result.lastCheck.verdict === 'lost';
  const degraded = result.lastCheck.verdict === 'degraded' || storeProblems.length > 0 || unresolved > 0;
  const changed = result.lastCheck.repairedBlocks > 0 || result.actions.length > 0
    || result.versionReports.some((v) => v.outcome === 'rolled-forward' || v.outcome === 'rolled-back');
  const verdict = lost ? 'lost' : degraded ? 'degraded' : 'healthy';
  return { ...result, health, poolName: pool.manifest.name, stores, storeProblems, verdict, changed, unreadBlocks };
}

/** The newest epoch claimed on any reachable store, and whether its claimant still beats. */
export async function pendingInitialization(pool: OpenPool): Promise<{ epoch: number; alive: boolean } | undefined> {
  const online = pool.stores.filter((s) => s.condition === 'online' || s.condition === 'read-only');
  let claimed = 0;
  // A store whose epochs/ cannot be read is one failed store: the others tell the state.
  for (const store of online) claimed = Math.max(claimed, await storeAt(store.path).highestClaim().then((c) => c.highest, () => 0));
  if (claimed <= pool.manifest.epoch) return undefined;
  const ages = await Promise.all(online.map((s) => storeAt(s.path).claimSilenceMs(claimed).catch(() => undefined)));
  const freshest = Math.min(...ages.map((a) => a ?? Number.POSITIVE_INFINITY));
  return { epoch: claimed, alive: freshest <= staleAfterMs() };
}
