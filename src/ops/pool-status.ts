import { forEachNewestRecord } from './catalog.js';
import { appendAll } from '../format/append-all.js';
import { isReadable } from './list-files.js';
import { pendingInitialization } from './check-pool.js';
import { openPool, type StoreCondition } from './open-pool.js';
import { describeStoreProblem, reportedStores } from './store-problem.js';
import type { LastCheck } from '../format/manifest.js';
import { readScrubTimes } from './scrub-log.js';
import { scrubAgeHistogram, scrubTargets, scrubUnits, type ScrubAgeBucket, type ScrubTarget } from './scrub-selection.js';
import { describeStoreFault, readStoreFaults } from './store-faults.js';
import type { StoreFaultNote } from '../format/store-fault.js';

export interface StoreStatus {
  readonly slot: number;
  readonly path: string;
  readonly condition: StoreCondition;
  readonly detail?: string;
  readonly totalBytes?: number;
  readonly freeBytes?: number;
  /** The last write to this store that failed and no healthy check has seen through since (fault notes). */
  readonly writeFault?: { readonly reason: string; readonly errno?: string; readonly command: string; readonly atMs: number };
}

export interface PoolStatus {
  readonly poolName: string;
  readonly poolId: string;
  readonly k: number;
  readonly m: number;
  readonly blockSizeBytes: number;
  readonly epoch: number;
  readonly stores: StoreStatus[];
  readonly fileCount: number;
  readonly storedBytes: number;
  readonly problems: string[];
  readonly health: 'healthy' | 'degraded' | 'unavailable';
  /** Data sets by time since a verify or check last found them good (the scrub logs, no block read). */
  readonly scrubAges: ScrubAgeBucket[];
  /** The last completed check, as the manifest records it (absent: never checked). */
  readonly lastCheck?: LastCheck;
}

/** Stores, space and health from metadata alone: fast enough for a prompt or a monitoring probe. */
export async function poolStatus(options: { pool?: string }): Promise<PoolStatus> {
  const pool = await openPool(options.pool);
  const readablePaths = pool.stores.filter(isReadable).map((s) => s.path);
  const faults = await readStoreFaults(readablePaths, pool.manifest);
  const stores = await Promise.all(pool.stores.map(async (s): Promise<StoreStatus> => {
    const fault = faults.get(s.slot);
    return {
      slot: s.slot, path: s.path, condition: s.condition, detail: s.detail,
      totalBytes: isReadable(s) ? s.totalBytes : undefined,
      freeBytes: isReadable(s) ? s.freeBytes : undefined,
      ...(fault ? { writeFault: { reason: fault.reason, command: fault.command, atMs: fault.atMs, ...(fault.errno ? { errno: fault.errno } : {}) } } : {}),
    };
  }));
  // One catalog bucket at a time: what status keeps of a million names is counts and the packs.
  let fileCount = 0;
  let storedBytes = 0;
  const targets: ScrubTarget[] = [];
  const packsTaken = new Set<string>();
  await forEachNewestRecord(readablePaths, (record) => {
    if (record.deleted) return;
    if (record.kind !== 'dir') fileCount++;
    storedBytes += record.fileSizeBytes;
    appendAll(targets, scrubTargets([record], packsTaken));
  });
  const scrubAges = scrubAgeHistogram(scrubUnits(targets, await readScrubTimes(readablePaths)), Date.now());
  const down = pool.stores.filter((s) => s.condition !== 'online').length;
  const unreachable = pool.stores.filter((s) => !isReadable(s)).length;
  const problems = [
    ...reportedStores(pool.stores).filter((s) => s.condition !== 'online').map(describeStoreProblem),
    ...pool.manifestProblems,
    ...pool.stores.filter((s) => faults.has(s.slot)).map((s) => describeStoreFault(faults.get(s.slot) as StoreFaultNote, s.path)),
    // A store with less room than one block takes no more blocks: the next put is degraded.
    ...pool.stores.filter((s) => s.condition === 'online' && s.freeBytes !== undefined && s.freeBytes < pool.manifest.blockSizeBytes)
      .map((s) => `store ${s.slot} (${s.path}) is full: ${s.freeBytes ?? 0} bytes free, less than one block (ENOSPC on the next write); free space there`),
  ];
  const pending = await pendingInitialization(pool);
  if (pending) problems.push(pending.alive ? `a pool check (epoch ${pending.epoch}) is running` : `the pool check of epoch ${pending.epoch} was interrupted; run 'rain check'`);
  const health = unreachable > pool.manifest.m ? 'unavailable' : down > 0 || problems.length > 0 ? 'degraded' : 'healthy';
  return {
    poolName: pool.manifest.name, poolId: pool.manifest.poolId, k: pool.manifest.k, m: pool.manifest.m,
    blockSizeBytes: pool.manifest.blockSizeBytes, epoch: pool.manifest.epoch, stores,
    fileCount, storedBytes, problems, health,
    scrubAges, ...(pool.manifest.lastCheck ? { lastCheck: pool.manifest.lastCheck } : {}),
  };
}
