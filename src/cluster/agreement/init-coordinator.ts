import { emptyHealth, mergeWorkerFiles, settleState, type FileHealth } from '../../dataset/file-health.js';
import type { VersionReport } from '../../dataset/results.js';
import { supersededAmong, type ToConfirm } from '../../dataset/verdicts.js';
import type { CatalogRecord } from '../../format/catalog-record.js';
import { datasetExtent } from '../../format/dataset-geometry.js';
import { CURRENT_POOL_FORMAT, type LastCheck, type LastCheckScope, type Manifest } from '../../format/manifest.js';
import { describeError, ioError } from '../../rain-error.js';
import { storeAt } from '../../store/store-set.js';
import { faultPoint } from '../fault-points.js';
import type { CheckPlan, StoreAccess, WorkerCheckReport } from '../protocol.js';
import { CheckProgressSum } from '../check-progress.js';
import { WorkerCluster } from '../worker-cluster.js';
import type { WorkerHandle } from '../worker-handle.js';
import { claimEpoch, type ClaimOutcome } from './epoch-claim.js';
import { appendAll } from '../../format/append-all.js';

export type PlanContents = Omit<CheckPlan, 'epoch' | 'membership' | 'poolSlots' | 'repair'>;

export interface InitializationOptions {
  /** The manifest to commit at the new epoch (its stores are the membership). */
  readonly manifest: Manifest;
  readonly committedEpoch: number;
  readonly access: readonly StoreAccess[];
  readonly repair: boolean;
  readonly purpose: string;
  /** `partial`: the plan checks only some data sets (--percent, --older-than), `checkedDatasets` of them. */
  readonly buildPlan: (cluster: WorkerCluster) => Promise<{
    contents: PlanContents; repairs: string[]; problems: string[]; partial?: { scope: LastCheckScope; checkedDatasets: number };
  }>;
  /** The newest committed record of each name (tombstones too), read now from the stores; undefined when none could be read. */
  readonly rereadRecords: (names: readonly string[]) => Promise<ReadonlyMap<string, CatalogRecord> | undefined>;
  /** Metadata work after the data check: repairs (catalog copies) and housekeeping (collected tombstones). */
  readonly afterCheck?: (deletedCleaned: ReadonlySet<string>) => Promise<{ repairs: string[]; housekeeping: string[] }>;
  readonly onPhase?: (phase: string) => void;
  /** File bytes of the data sets checked so far, of all the plan holds (a progress bar; throttled by the workers). */
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface WorkerShare {
  readonly slot: number;
  readonly pid?: number;
  registeredDatasets: number;
  registeredVersions: number;
  checkedDatasets: number;
  repairedBlocks: number;
  lostDatasets: number;
  takenOver: number;
  state: 'confirmed' | 'died' | 'refused';
  readonly elapsedMs: number[];
}

export interface InitializationResult {
  readonly epoch: number;
  readonly phases: { name: string; ms: number }[];
  readonly workers: WorkerShare[];
  readonly files: FileHealth[];
  readonly versionReports: VersionReport[];
  /** Repairs of metadata (these count as "problems found and repaired"). */
  readonly actions: string[];
  /** What is wrong with single stores and stays so (a full disk, junk that could not be moved): the check went on without it. */
  readonly storeFaults: string[];
  /** Routine clean-up (not a problem). */
  readonly housekeeping: string[];
  readonly lastCheck: LastCheck;
}

export type InitializationOutcome =
  | { readonly kind: 'completed'; readonly result: InitializationResult }
  | { readonly kind: 'lost-race'; readonly epoch: number; readonly holderPid?: number; readonly holderHost?: string };

/**
 * The coordinator's side of initialization mode (M4-M9), docs/PROTOCOL.md:
 * claim epoch e+1 -> every worker agrees and enters init mode -> each registers the data sets the
 * common function gives it -> each checks and recovers its own -> a dead worker's share is taken
 * over by the survivors -> all confirm -> the manifest at e+1 is committed ACTIVE on the stores.
 * Interrupted anywhere, the claim's heartbeat goes stale and the next command starts e+2.
 */
export async function runInitialization(options: InitializationOptions): Promise<InitializationOutcome> {
  const phases: { name: string; ms: number }[] = [];
  let phaseStart = Date.now();
  const phase = (name: string): void => {
    const now = Date.now();
    phases.push({ name, ms: now - phaseStart });
    phaseStart = now;
  };
  const membershipSlots = options.manifest.stores.map((s) => s.slot);
  const quorum = membershipSlots.length - options.manifest.m;
  options.onPhase?.('claiming epoch');
  const claimable = options.access.map((s) => ({ slot: s.slot, store: storeAt(s.path), writable: s.writable }));
  const claim: ClaimOutcome = await claimEpoch(claimable, options.committedEpoch, quorum, options.purpose, membershipSlots);
  if (!claim.won) return { kind: 'lost-race', epoch: claim.epoch, holderPid: claim.holder?.pid, holderHost: claim.holder?.host };
  phase('claim');
  try {
    // Junk in epochs/ (claim.junk) was ignored by the claim; the check's layout scan moves it aside and says so.
    const claimFaults = claim.faults.map((f) => `store ${f.slot}: ${f.reason}`);
    const result = await runClaimedEpoch(options, claim.epoch, phase, claimFaults);
    return { kind: 'completed', result: { ...result, phases } };
  } finally {
    claim.stopHeartbeat();
  }
}

/**
 * No verdict without re-reading (worker-tasks/record-recheck.ts): the records of every data set
 * some worker found not all good are read again, once, now that every worker is done. A file whose
 * version is no longer the name's current one is 'superseded': nothing about it counts, and blocks
 * a repair wrote for it are removed again.
 */
async function confirmVerdicts(options: InitializationOptions, files: Map<string, FileHealth>, confirming: readonly ToConfirm[]): Promise<void> {
  if (confirming.length === 0) return;
  const now = await options.rereadRecords([...new Set(confirming.map((c) => c.name))]);
  if (!now) return; // no store's catalog could be read: nothing to go by, the verdicts stand
  const superseded = await supersededAmong(confirming, now, (slot) => {
    const access = options.access.find((s) => s.slot === slot);
    return access ? { slot, store: storeAt(access.path), readable: access.readable, writable: access.writable } : undefined;
  });
  for (const fileId of superseded) {
    const health = files.get(fileId);
    if (!health) continue;
    files.set(fileId, { ...emptyHealth({ name: health.name, fileId, fileSizeBytes: health.sizeBytes, datasetCount: health.datasets }), supersededDatasets: health.datasets });
  }
}

async function runClaimedEpoch(
  options: InitializationOptions, epoch: number, phase: (name: string) => void, claimFaults: string[],
): Promise<Omit<InitializationResult, 'phases'>> {
  options.onPhase?.('workers agreeing to enter initialization mode');
  const cluster = await WorkerCluster.start(options.manifest.poolId, options.access);
  try {
    const shares = new Map<number, WorkerShare>();
    for (const w of cluster.workers) {
      shares.set(w.slot, { slot: w.slot, pid: w.pid, registeredDatasets: 0, registeredVersions: 0, checkedDatasets: 0, repairedBlocks: 0, lostDatasets: 0, takenOver: 0, state: 'confirmed', elapsedMs: [] });
    }
    const membership = cluster.workers.map((w) => w.slot);
    const agreed: WorkerHandle[] = [];
    await Promise.all(cluster.workers.map(async (w) => {
      const reply = await w.request<{ agreed: boolean; reason?: string }>({ op: 'init-enter', epoch, membership }).catch((e: unknown) => ({ agreed: false, reason: describeError(e) }));
      if (reply.agreed) agreed.push(w);
      else (shares.get(w.slot) as WorkerShare).state = 'refused';
    }));
    if (agreed.length === 0) throw ioError(`no worker agreed to enter initialization mode for epoch ${epoch}`);
    let alive = agreed.sort((a, b) => a.slot - b.slot);
    await faultPoint('coordinator-agreed');
    phase('agree');

    options.onPhase?.('registering responsibility');
    const built = await options.buildPlan(cluster);
    const contents = built.contents;
    const storeFaults = [...claimFaults, ...built.problems];
    const plan: CheckPlan = {
      ...contents, epoch, membership: alive.map((w) => w.slot), poolSlots: options.manifest.stores.map((s) => s.slot), repair: options.repair,
    };
    const dead: number[] = [];
    await Promise.all(alive.map(async (w) => {
      try {
        const counts = await w.request<{ datasets: number; versions: number }>({ op: 'init-register', plan });
        const share = shares.get(w.slot) as WorkerShare;
        share.registeredDatasets = counts.datasets;
        share.registeredVersions = counts.versions;
      } catch {
        dead.push(w.slot);
        // It may have died after registering: its durable record still tells what it held.
        const access = options.access.find((s) => s.slot === w.slot);
        const record = access ? await storeAt(access.path).readWorkerRecord(epoch, 'register', w.slot).catch(() => undefined) : undefined;
        const share = shares.get(w.slot) as WorkerShare;
        share.registeredDatasets = Number(record?.datasets ?? 0);
        share.registeredVersions = Number(record?.versions ?? 0);
      }
    }));
    await faultPoint('coordinator-registered');
    phase('register');

    options.onPhase?.('checking data sets');
    const progress = new CheckProgressSum(plannedBytes(plan), options.onProgress);
    for (const w of cluster.workers) w.onProgress = (counts) => progress.report(w.slot, counts);
    const files = new Map<string, FileHealth>();
    const versionReports: VersionReport[] = [];
    const deletedCleaned = new Set<string>();
    const confirming: ToConfirm[] = [];
    const absorb = (slot: number, report: WorkerCheckReport, takeover: boolean): void => {
      const share = shares.get(slot) as WorkerShare;
      share.checkedDatasets += report.datasets;
      if (takeover) share.takenOver += report.datasets + report.versions;
      share.repairedBlocks += report.files.reduce((sum, f) => sum + f.repairedBlocks, 0);
      share.lostDatasets += report.files.reduce((sum, f) => sum + (f.supersededDatasets > 0 ? 0 : f.lostDatasets.length), 0);
      share.elapsedMs.push(report.elapsedMs);
      mergeWorkerFiles(files, report.files);
      appendAll(versionReports, report.versionReports);
      appendAll(storeFaults, report.storeFaults);
      for (const fileId of report.deletedCleaned) deletedCleaned.add(fileId);
      appendAll(confirming, report.toConfirm);
    };
    const registered = alive.filter((w) => !dead.includes(w.slot));
    await Promise.all(registered.map(async (w) => {
      try {
        absorb(w.slot, await w.request<WorkerCheckReport>({ op: 'init-check' }), false);
      } catch {
        dead.push(w.slot);
      }
    }));
    // Survivors take over the share of each dead worker, one death at a time, in the same order.
    while (dead.length > 0) {
      const deadSlot = dead.shift() as number;
      (shares.get(deadSlot) as WorkerShare).state = 'died';
      alive = alive.filter((w) => w.slot !== deadSlot && w.alive);
      if (alive.length === 0) throw ioError(`every worker died during the check of epoch ${epoch}; run 'rain check' again`);
      const remaining = alive.map((w) => w.slot);
      await Promise.all(alive.map(async (w) => {
        try {
          absorb(w.slot, await w.request<WorkerCheckReport>({ op: 'init-takeover', deadSlot, membership: remaining }), true);
        } catch {
          if (!dead.includes(w.slot)) dead.push(w.slot);
        }
      }));
    }
    for (const w of cluster.workers) w.onProgress = undefined;
    await confirmVerdicts(options, files, confirming);
    phase('check');

    const after = options.repair && options.afterCheck ? await options.afterCheck(deletedCleaned) : { repairs: [], housekeeping: [] };
    const actions = [...built.repairs, ...after.repairs];
    const housekeeping = after.housekeeping;
    const healths = [...files.values()];
    for (const health of healths) settleState(health, options.repair);
    // Superseded files were rewritten while the check ran: no verdict about them is recorded.
    const partial = built.partial;
    const lastCheck: LastCheck = {
      verdict: healths.some((f) => f.state === 'lost') ? 'lost' : healths.some((f) => f.state === 'degraded') || storeFaults.length > 0 ? 'degraded' : 'healthy',
      finishedAt: new Date().toISOString(),
      // A partial check read some data sets of its files only: the plan says how many.
      datasets: partial ? partial.checkedDatasets : healths.reduce((sum, f) => sum + f.datasets, 0),
      repairedBlocks: healths.reduce((sum, f) => sum + f.repairedBlocks, 0),
      lostDatasets: healths.reduce((sum, f) => sum + (f.state === 'lost' ? f.lostDatasets.length : 0), 0),
      ...(partial ? { scope: partial.scope } : {}),
    };

    options.onPhase?.('confirming');
    await Promise.all(alive.map((w) => w.request({ op: 'init-confirm', summary: { ...shares.get(w.slot), lastCheck } }).catch(() => {
      (shares.get(w.slot) as WorkerShare).state = 'died';
    })));
    await faultPoint('coordinator-confirmed');
    phase('confirm');

    options.onPhase?.('committing');
    // A check converts an older pool: from this commit on, commits may write catalog segments.
    const committed: Manifest = { ...options.manifest, epoch, lastCheck, formatVersion: CURRENT_POOL_FORMAT };
    // Never move a store backwards: if a newer epoch was claimed meanwhile (we were presumed
    // dead), this check's work stands but its commit is left to the newer one.
    for (const store of options.access) {
      if (store.readable && (await storeAt(store.path).highestClaim().then((c) => c.highest, () => 0)) > epoch) {
        throw ioError(`epoch ${epoch} was superseded by a newer check while this one ran; its repairs stand, the newer check commits`);
      }
    }
    let written = 0;
    for (const store of options.access) {
      if (!store.writable) continue;
      try {
        await storeAt(store.path).writeManifest(committed);
        written++;
      } catch {
        // a store that cannot take the manifest is behind; the next check brings it up to date
      }
    }
    if (written === 0) throw ioError(`epoch ${epoch}: no store took the committed manifest`);
    await Promise.all(alive.map((w) => w.request({ op: 'init-leave' }).catch(() => undefined)));
    for (const store of options.access) if (store.writable) await storeAt(store.path).pruneEpochFiles(epoch - 8).catch(() => undefined);
    phase('commit');
    return {
      epoch, workers: [...shares.values()].sort((a, b) => a.slot - b.slot), files: healths, versionReports, actions, storeFaults: [...new Set(storeFaults)],
      housekeeping, lastCheck,
    };
  } finally {
    await cluster.close();
  }
}

/** The file bytes of every data set the plan has checked (a partial check's selected ones only). */
function plannedBytes(plan: CheckPlan): number {
  let total = 0;
  for (const record of plan.committed) {
    for (const [first, count] of record.datasetsToCheck ?? [[0, record.datasetCount]]) {
      for (let d = first; d < Math.min(first + count, record.datasetCount); d++) total += datasetExtent(record, d).dataBytes;
    }
  }
  return total;
}
