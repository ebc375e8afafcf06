import { newestRecord, PACK_BLOCK_NAME, type CatalogRecord } from '../format/catalog-record.js';
import type { BlockHeader } from '../format/block-header.js';
import { describeStoreError } from '../rain-error.js';
import { checkDataset, type BlockListings } from './check.js';
import type { DatasetContext } from './dataset-context.js';
import { makeDatasetRef } from './dataset-ref.js';
import type { UncommittedVersion, VersionReport } from './results.js';

/** What deciding an unfinished version needs to know of the check it is part of. */
export interface VersionPlan {
  /** Slots of the pool's stores (placement ranks over these). */
  readonly poolSlots: readonly number[];
  readonly repair: boolean;
  /** Its writer announced it and still beats. */
  isLive(fileId: string, sequence: bigint): boolean;
  /** A live writer announced a newer version of the file: its older blocks stay (writers-ahead.ts). */
  isWriterAhead(fileId: string, sequence: bigint): boolean;
  /** The newest committed sequence of a name (tombstones too): from the plan, or read now. */
  newestSequenceOf(name: string): Promise<bigint | undefined>;
  /** A reader announced it reads the name: older blocks stay for a later check. */
  isRead(name: string): boolean;
}

/**
 * The sequence indicator at work (M7): a version found on the stores without a catalog record is
 * a write that did not finish. Its responsible worker decides, once for the whole version:
 *  - its writer is alive                         -> leave it alone ('in-progress')
 *  - the name's newest record is this version     -> leave it alone ('committed-meanwhile')
 *  - a newer version or delete of the name exists -> remove it ('obsolete-removed')
 *  - a newer unfinished write of the name exists  -> remove it ('obsolete-removed'): only the
 *    newest write of a name is ever finished, so a name never goes back to an older write
 *  - every data set has >= k good blocks          -> finish it: rebuild the rest, commit ('rolled-forward')
 *  - otherwise                                    -> undo it: remove its blocks ('rolled-back'); the
 *    committed version, checked on its own, is what the name keeps (or it is lost if that one is too).
 * Nothing is removed before the name's record was read again: a version its writer committed
 * after the plan was made is 'committed-meanwhile' and left as it is.
 */
export async function resolveVersion(ctx: DatasetContext, plan: VersionPlan, version: UncommittedVersion, listings: BlockListings): Promise<VersionReport> {
  const base = { fileId: version.fileId, sequence: version.sequence.toString() };
  if (plan.isLive(version.fileId, version.sequence)) {
    return { ...base, outcome: 'in-progress', detail: 'its writer is still running' };
  }
  const header = await findHeader(ctx, version);
  if (!header) {
    await removeVersion(ctx, version);
    return { ...base, outcome: 'rolled-back', detail: 'no block of it has a readable header' };
  }
  if (header.name === PACK_BLOCK_NAME) return resolvePack(ctx, plan, version, base);
  const named = { ...base, name: header.name };
  const newest = await plan.newestSequenceOf(header.name);
  // The name's newest record is read after the writers' announcements (check-plan.ts): a writer
  // that finished in between committed this very version, which is the name's content now.
  if (newest === version.sequence) return { ...named, outcome: 'committed-meanwhile', detail: 'its writer committed it while the check ran' };
  if (newest !== undefined && newest > version.sequence) {
    if (plan.repair) await removeVersion(ctx, version);
    return { ...named, outcome: 'obsolete-removed', detail: `the name has a newer committed version (${newest})` };
  }
  if (version.newerWrite !== undefined) {
    const detail = `a newer write of the name (${version.newerWrite}) was started after it`;
    if (!plan.repair) return { ...named, outcome: 'obsolete-removed', detail };
    const meanwhile = await committedMeanwhile(ctx, header);
    if (meanwhile) return { ...named, ...meanwhile };
    await removeVersion(ctx, version);
    return { ...named, outcome: 'obsolete-removed', detail };
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
  const notDurable = await ctx.flush();
  if (notDurable.length > 0) return { ...named, outcome: 'unresolved', detail: `its blocks could not be made durable: store ${notDurable[0].slot}: ${notDurable[0].reason}` };
  // The commit point, exactly as for a put: blocks durable first, then the catalog record, which
  // carries the checksums of the data the blocks were just verified to decode to.
  const finished: CatalogRecord = { ...record, datasetChecksums: checksums };
  let committed = 0;
  const failures: string[] = [];
  for (const slot of plan.poolSlots) {
    const target = ctx.storeOf(slot);
    if (!target.writable) continue;
    try {
      await target.store.writeCatalogRecord(finished);
      await target.store.flush();
      committed++;
    } catch (error) {
      failures.push(`store ${slot}: ${describeStoreError(error)}`);
    }
  }
  if (committed === 0) return { ...named, outcome: 'unresolved', detail: `no store took the catalog record (${failures.join('; ')})` };
  // The older version's blocks stay while a reader reads the name or a writer writes a newer
  // version that may keep some of them (collected by a later check).
  if (!plan.isRead(header.name) && !plan.isWriterAhead(version.fileId, version.sequence)) {
    for (const slot of plan.poolSlots) {
      const target = ctx.storeOf(slot);
      if (target.writable) await target.store.removeFileBlocks(version.fileId, version.sequence, 'older').catch(() => 0);
    }
  }
  return { ...named, outcome: 'rolled-forward', detail: `all ${record.datasetCount} data sets complete; committed` };
}

/**
 * A pack no live file refers to: its writer has not committed the files in it yet, or crashed
 * before it did, or every file in it was deleted or replaced since. A pack is never rolled
 * forward (its files' records are the commit point; without them it holds nothing anyone named).
 * It is removed once its sequence is older than packGraceMs(): a writer that committed its files
 * after this check read the catalog (its announcement already gone) is far younger than that.
 */
async function resolvePack(ctx: DatasetContext, plan: VersionPlan, version: UncommittedVersion, base: { fileId: string; sequence: string }): Promise<VersionReport> {
  const named = { ...base, name: '(pack)' };
  const ageMs = Date.now() - Number(version.sequence >> 20n);
  if (ageMs < packGraceMs()) return { ...named, outcome: 'in-progress', detail: 'a pack no file refers to yet; left for a later check' };
  if (!plan.repair) return { ...named, outcome: 'unresolved', detail: 'a pack no file refers to (run rain check to remove it)' };
  await removeVersion(ctx, version);
  return { ...named, outcome: 'rolled-back', detail: 'a pack no file refers to any more' };
}

/**
 * How old an unreferenced pack must be before a check removes it (its sequence carries its time):
 * an hour, or RAIN_PACK_GRACE_MS (tests).
 */
export function packGraceMs(): number {
  const given = Number(process.env.RAIN_PACK_GRACE_MS);
  return Number.isFinite(given) && given >= 0 ? given : 60 * 60 * 1000;
}

/**
 * Before undoing a version: its writer may have committed it after the plan was made (the plan
 * read the catalog first), or a newer one may have superseded it. Only a version that is still
 * no committed state of its name is removed.
 */
async function committedMeanwhile(ctx: DatasetContext, record: Pick<CatalogRecord, 'name' | 'fileId' | 'sequence'>): Promise<Pick<VersionReport, 'outcome' | 'detail'> | undefined> {
  const { newest, scanned } = await newestCommittedRecord(ctx, record.name);
  if (scanned === 0) return { outcome: 'unresolved', detail: 'no catalog could be read to confirm it was never committed' };
  if (newest && newest.sequence === record.sequence && newest.fileId === record.fileId) {
    return { outcome: 'committed-meanwhile', detail: 'its writer committed it while the check ran' };
  }
  return undefined;
}

/** The newest record of a name on the readable stores now (one catalog bucket read per store), and how many stores were read. */
export async function newestCommittedRecord(ctx: DatasetContext, name: string): Promise<{ newest: CatalogRecord | undefined; scanned: number }> {
  let newest: CatalogRecord | undefined;
  let scanned = 0;
  for (const slot of ctx.slots()) {
    const target = ctx.storeOf(slot);
    if (!target.readable) continue;
    const scan = await target.store.scanCatalog(name).catch(() => undefined);
    if (!scan) continue;
    scanned++;
    newest = newestRecord([...(newest ? [newest] : []), ...scan.records.filter((r) => r.name === name)]);
  }
  return { newest, scanned };
}

async function findHeader(ctx: DatasetContext, version: UncommittedVersion): Promise<BlockHeader | undefined> {
  for (const slot of version.slots) {
    const target = ctx.storeOf(slot);
    if (!target.readable) continue;
    const keys = (await target.store.listFileBlocks(version.fileId).catch(() => [])).filter((k) => k.sequence === version.sequence);
    for (const key of keys) {
      const header = await target.store.readBlockHeader(version.fileId, key).catch(() => undefined);
      if (header && header.poolId === ctx.poolId) return header;
    }
  }
  return undefined;
}

async function removeVersion(ctx: DatasetContext, version: UncommittedVersion): Promise<void> {
  for (const slot of version.slots) {
    const target = ctx.storeOf(slot);
    if (target.writable) await target.store.removeFileBlocks(version.fileId, version.sequence, 'exactly').catch(() => 0);
  }
}
