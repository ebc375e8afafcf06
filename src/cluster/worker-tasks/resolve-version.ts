import { makeDatasetRef } from '../../dataset/dataset-ref.js';
import type { BlockHeader } from '../../format/block-header.js';
import { writeCatalogRecord } from '../../store/catalog-files.js';
import { listFileBlocks, readBlockHeader } from '../../store/block-files.js';
import { removeFileBlocks } from '../../store/block-housekeeping.js';
import { describeStoreError } from '../../rain-error.js';
import type { CheckPlan, UncommittedVersion, VersionReport } from '../protocol.js';
import type { WorkerContext } from '../worker-context.js';
import { checkDataset, type BlockListings } from './check-dataset.js';
import { newestRecord, type CatalogRecord } from '../../format/catalog-record.js';
import { scanCatalog } from '../../store/catalog-files.js';

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
 * Nothing is removed before the name's record was read again: a version its writer committed
 * after the plan was made is 'committed-meanwhile' and left as it is.
 */
export async function resolveVersion(
  ctx: WorkerContext, plan: CheckPlan, version: UncommittedVersion, listings: BlockListings, isRead: (name: string) => boolean,
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
  const refs = Array.from({ length: record.datasetCount }, (_, d) => makeDatasetRef(ctx.poolId, record, d, plan.poolSlots));
  for (const ref of refs) {
    const found = await checkDataset(ctx, ref, { repair: false, collectOlder: false }, listings);
    if (!found.recoverable) {
      if (!plan.repair) return { ...named, outcome: 'unresolved', detail: `data set ${ref.datasetIndex} has ${found.goodCount} good blocks of the ${record.k} needed` };
      const meanwhile = await committedMeanwhile(ctx, record);
      if (meanwhile) return { ...named, ...meanwhile };
      await removeVersion(ctx, version);
      return { ...named, outcome: 'rolled-back', detail: `data set ${ref.datasetIndex} has ${found.goodCount} good blocks of the ${record.k} needed` };
    }
  }
  if (!plan.repair) return { ...named, outcome: 'unresolved', detail: 'complete enough to roll forward (run rain check)' };
  const checksums: number[] = [];
  for (const ref of refs) {
    const repaired = await checkDataset(ctx, ref, { repair: true, collectOlder: false }, listings);
    if (repaired.unrepaired.length > 0 || repaired.dataChecksum === undefined) {
      return { ...named, outcome: 'unresolved', detail: `data set ${ref.datasetIndex}: ${repaired.unrepaired[0]?.reason ?? repaired.unverifiable ?? 'not verified'}` };
    }
    checksums.push(repaired.dataChecksum);
  }
  await ctx.directorySync.flush();
  // The commit point, exactly as for a put: blocks durable first, then the catalog record, which
  // carries the checksums of the data the blocks were just verified to decode to.
  const finished: CatalogRecord = { ...record, datasetChecksums: checksums };
  let committed = 0;
  for (const slot of plan.poolSlots) {
    const store = ctx.store(slot);
    if (!store.writable) continue;
    try {
      await writeCatalogRecord(store.path, finished, ctx.directorySync);
      committed++;
    } catch (error) {
      process.stderr.write(`rain worker: catalog write to ${store.path} failed: ${describeStoreError(error)}\n`);
    }
  }
  await ctx.directorySync.flush().catch(() => undefined);
  if (committed === 0) return { ...named, outcome: 'unresolved', detail: 'no store took the catalog record' };
  // The older version's blocks stay while a reader reads the name (collected by a later check).
  if (!isRead(header.name)) {
    for (const slot of plan.poolSlots) {
      const store = ctx.store(slot);
      if (store.writable) await removeFileBlocks(store.path, version.fileId, version.sequence, 'older').catch(() => 0);
    }
  }
  return { ...named, outcome: 'rolled-forward', detail: `all ${record.datasetCount} data sets complete; committed` };
}

/**
 * Before undoing a version: its writer may have committed it after the plan was made (the plan
 * read the catalog first), or a newer one may have superseded it. Only a version that is still
 * no committed state of its name is removed.
 */
async function committedMeanwhile(ctx: WorkerContext, record: CatalogRecord): Promise<Pick<VersionReport, 'outcome' | 'detail'> | undefined> {
  let newest: CatalogRecord | undefined;
  let scanned = 0;
  for (const store of ctx.allStores()) {
    if (!store.readable) continue;
    const scan = await scanCatalog(store.path, record.name).catch(() => undefined);
    if (!scan) continue;
    scanned++;
    newest = newestRecord([...(newest ? [newest] : []), ...scan.records.filter((r) => r.name === record.name)]);
  }
  if (scanned === 0) return { outcome: 'unresolved', detail: 'no catalog could be read to confirm it was never committed' };
  if (newest && newest.sequence === record.sequence && newest.fileId === record.fileId) {
    return { outcome: 'committed-meanwhile', detail: 'its writer committed it while the check ran' };
  }
  return undefined;
}

async function findHeader(ctx: WorkerContext, version: UncommittedVersion): Promise<BlockHeader | undefined> {
  for (const slot of version.slots) {
    const store = ctx.store(slot);
    if (!store.readable) continue;
    const keys = (await listFileBlocks(store.path, version.fileId).catch(() => [])).filter((k) => k.sequence === version.sequence);
    for (const key of keys) {
      const header = await readBlockHeader(store.path, version.fileId, key).catch(() => undefined);
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
