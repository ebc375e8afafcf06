import { datasetSequence, PACK_BLOCK_NAME, type CatalogRecord } from '../format/catalog-record.js';
import type { DatasetRef } from './dataset-ref.js';
import type { StoreSlot } from './dataset-context.js';

/**
 * No verdict without re-reading (docs/PROTOCOL.md, "Checks racing writers"). A check plans the
 * committed versions it found when it started; a put or rm may commit a newer version meanwhile
 * and collect the blocks of the one being checked. So a data set whose check found anything not
 * good is reported, lost or repaired, only after the name's newest committed record was read
 * again: if the version checked is no longer it, the data set is 'superseded' (never lost), and
 * blocks a repair wrote for it are removed again (never repaired back to life).
 *
 * The workers note such data sets (ToConfirm) and the coordinator re-reads the records of all of
 * them at once after every worker finished its share: every block read that led to a verdict
 * happened before that re-read began, and one pass over each store's catalog buckets serves a
 * rebuild of an emptied store, which has a verdict to confirm for every data set of the pool.
 */
export interface ToConfirm {
  readonly name: string;
  readonly fileId: string;
  readonly datasetIndex: number;
  readonly sequence: bigint;
  /** placement[b] is the slot of block b (to undo repairs). */
  readonly placement: readonly number[];
  /** Block indexes a repair rewrote. */
  readonly repaired: readonly number[];
}

export function toConfirm(ref: DatasetRef, repaired: readonly number[]): ToConfirm {
  return { name: ref.name, fileId: ref.fileId, datasetIndex: ref.datasetIndex, sequence: ref.sequence, placement: ref.placement, repaired };
}

/** True when `ref` names data set d of `record`'s live version exactly. */
export function isVersionOf(record: CatalogRecord | undefined, ref: Pick<DatasetRef, 'fileId' | 'datasetIndex' | 'sequence'>): boolean {
  return record !== undefined && !record.deleted && record.fileId === ref.fileId
    && ref.datasetIndex < record.datasetCount && datasetSequence(record, ref.datasetIndex) === ref.sequence;
}

/**
 * Applies the re-read: returns the file ids whose checked version is no longer current, and
 * removes the blocks a repair wrote for those (they are older than the name's current version:
 * garbage that must not look like a version to anyone later).
 */
export async function supersededAmong(
  confirming: readonly ToConfirm[], newest: ReadonlyMap<string, CatalogRecord>, storeOf: (slot: number) => StoreSlot | undefined,
): Promise<Set<string>> {
  const superseded = new Set<string>();
  for (const entry of confirming) {
    // A pack is never replaced by a newer version of itself (docs/FORMAT.md §5.1): its verdict stands.
    if (entry.name === PACK_BLOCK_NAME) continue;
    if (isVersionOf(newest.get(entry.name), entry)) continue;
    superseded.add(entry.fileId);
    for (const blockIndex of entry.repaired) {
      const target = storeOf(entry.placement[blockIndex]);
      if (!target?.writable) continue;
      await target.store.removeBlock(entry.fileId, { datasetIndex: entry.datasetIndex, blockIndex, sequence: entry.sequence }).catch(() => undefined);
    }
  }
  return superseded;
}
