import type { BlockHeader } from '../../format/block-header.js';
import type { CatalogRecord } from '../../format/catalog-record.js';
import { placeDataset } from '../../format/placement.js';
import { writeCatalogRecord } from '../../store/catalog-files.js';
import { listFileBlocks, readBlockHeader } from '../../store/block-files.js';
import { describeError } from '../../rain-error.js';
import type { CheckPlan, DatasetRef, UncommittedVersion, VersionReport } from '../protocol.js';
import type { WorkerContext } from '../worker-context.js';
import { checkDataset, type BlockListings } from './check-dataset.js';
import { removeFileBlocks } from './store-housekeeping.js';

/** The plan's lists as lookups, built once per plan: a check may resolve hundreds of versions against 100,000 names. */
const planIndexes = new WeakMap<CheckPlan, { liveVersions: Set<string>; newestByName: Map<string, bigint> }>();

function indexOf(plan: CheckPlan): { liveVersions: Set<string>; newestByName: Map<string, bigint> } {
  let index = planIndexes.get(plan);
  if (!index) {
    index = { liveVersions: new Set(plan.liveVersions), newestByName: new Map(plan.newestByName) };
    planIndexes.set(plan, index);
  }
  return index;
}

/**
 * The sequence indicator at work (M7): a version found on the stores without a catalog record is
 * a write that did not finish. Its responsible worker decides, once for the whole version:
 *  - its writer is alive                         -> leave it alone ('in-progress')
 *  - a newer version or delete of the name exists -> remove it ('obsolete-removed')
 *  - every data set has >= k good blocks          -> finish it: rebuild the rest, commit ('rolled-forward')
 *  - otherwise                                    -> undo it: remove its blocks ('rolled-back'); the
 *    committed version, checked on its own, is what the name keeps (or it is lost if that one is too).
 */
export async function resolveVersion(
  ctx: WorkerContext, plan: CheckPlan, version: UncommittedVersion, listings: BlockListings,
): Promise<VersionReport> {
  const base = { fileId: version.fileId, sequence: version.sequence.toString() };
  const { liveVersions, newestByName } = indexOf(plan);
  if (liveVersions.has(`${version.fileId}@${version.sequence}`)) {
    return { ...base, outcome: 'in-progress', detail: 'its writer is still running' };
  }
  const header = await findHeader(ctx, version);
  if (!header) {
    await removeVersion(ctx, version);
    return { ...base, outcome: 'rolled-back', detail: 'no block of it has a readable header' };
  }
  const named = { ...base, name: header.name };
  const newest = newestByName.get(header.name);
  if (newest !== undefined && newest >= version.sequence) {
    if (plan.repair) await removeVersion(ctx, version);
    return { ...named, outcome: 'obsolete-removed', detail: `the name has a newer committed version (${newest})` };
  }
  const record: CatalogRecord = {
    name: header.name, fileId: header.fileId, sequence: header.sequence, deleted: false,
    fileSizeBytes: header.fileSizeBytes, k: header.k, m: header.m, blockSizeBytes: header.blockSizeBytes,
    datasetCount: header.datasetCount, writtenAt: new Date().toISOString(), datasetChecksums: [],
  };
  const refs = Array.from({ length: record.datasetCount }, (_, d): DatasetRef => ({
    poolId: ctx.poolId, name: record.name, fileId: record.fileId, sequence: record.sequence, fileSizeBytes: record.fileSizeBytes,
    k: record.k, m: record.m, blockSizeBytes: record.blockSizeBytes, datasetIndex: d, datasetCount: record.datasetCount,
    placement: placeDataset(record.fileId, d, plan.poolSlots, record.k + record.m),
  }));
  for (const ref of refs) {
    const found = await checkDataset(ctx, ref, { repair: false, collectOlder: false }, listings);
    if (!found.recoverable) {
      if (plan.repair) await removeVersion(ctx, version);
      return { ...named, outcome: plan.repair ? 'rolled-back' : 'unresolved', detail: `data set ${ref.datasetIndex} has ${found.goodCount} good blocks of the ${record.k} needed` };
    }
  }
  if (!plan.repair) return { ...named, outcome: 'unresolved', detail: 'complete enough to roll forward (run rain check)' };
  for (const ref of refs) {
    const repaired = await checkDataset(ctx, ref, { repair: true, collectOlder: false }, listings);
    if (repaired.unrepaired.length > 0) {
      return { ...named, outcome: 'unresolved', detail: `data set ${ref.datasetIndex}: ${repaired.unrepaired[0].reason}` };
    }
  }
  await ctx.directorySync.flush();
  // The commit point, exactly as for a put: blocks durable first, then the catalog record.
  let committed = 0;
  for (const slot of plan.poolSlots) {
    const store = ctx.store(slot);
    if (!store.writable) continue;
    try {
      await writeCatalogRecord(store.path, record, ctx.directorySync);
      committed++;
    } catch (error) {
      process.stderr.write(`rain worker: catalog write to ${store.path} failed: ${describeError(error)}\n`);
    }
  }
  await ctx.directorySync.flush();
  if (committed === 0) return { ...named, outcome: 'unresolved', detail: 'no store took the catalog record' };
  for (const slot of plan.poolSlots) {
    const store = ctx.store(slot);
    if (store.writable) await removeFileBlocks(store.path, version.fileId, version.sequence, 'older').catch(() => 0);
  }
  return { ...named, outcome: 'rolled-forward', detail: `all ${record.datasetCount} data sets complete; committed` };
}

async function findHeader(ctx: WorkerContext, version: UncommittedVersion): Promise<BlockHeader | undefined> {
  for (const slot of version.slots) {
    const store = ctx.store(slot);
    if (!store.readable) continue;
    const keys = (await listFileBlocks(store.path, version.fileId).catch(() => [])).filter((k) => k.sequence === version.sequence);
    for (const key of keys) {
      const header = await readBlockHeader(store.path, version.fileId, key);
      if (header && header.poolId === ctx.poolId) return header;
    }
  }
  return undefined;
}

async function removeVersion(ctx: WorkerContext, version: UncommittedVersion): Promise<void> {
  for (const slot of version.slots) {
    const store = ctx.store(slot);
    if (store.writable) await removeFileBlocks(store.path, version.fileId, version.sequence, 'exactly').catch(() => 0);
  }
}
