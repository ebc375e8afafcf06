import { datasetSequence, newestRecord, type CatalogRecord } from '../../format/catalog-record.js';
import { scanCatalog } from '../../store/catalog-files.js';
import { nameHash } from '../../store/store-layout.js';
import type { DatasetRef } from '../protocol.js';
import type { WorkerContext } from '../worker-context.js';

/**
 * No verdict without re-reading (docs/PROTOCOL.md, "Checks racing writers"). A check plans the
 * committed versions it found when it started; a put or rm may commit a newer version meanwhile
 * and collect the blocks of the one being checked. Before a data set is reported lost, a block
 * missing, or anything repaired, the name's newest committed record is read again: if the version
 * checked is no longer it, the data set is 'superseded' (never lost, never repaired back to life).
 *
 * A re-read is evidence only for reads that finished before it started, so one re-read per file
 * is shared by the data sets whose blocks were read before it began.
 */
export class RecordRechecks {
  private readonly byName = new Map<string, { startedAt: number; outcome: Promise<CatalogRecord | 'unknown' | undefined> }>();

  /** Whether `ref`'s version is still the name's current one, judged by a re-read that started after `readsDoneAt`. */
  async isCurrent(ctx: WorkerContext, ref: DatasetRef, readsDoneAt: number): Promise<boolean> {
    let entry = this.byName.get(ref.name);
    if (!entry || entry.startedAt < readsDoneAt) {
      if (this.byName.size > 256) this.byName.clear();
      entry = { startedAt: now(), outcome: newestCommitted(ctx, ref.name) };
      this.byName.set(ref.name, entry);
    }
    const newest = await entry.outcome;
    if (newest === 'unknown') return true; // no store's catalog could be read: nothing to go by
    return isVersionOf(newest, ref);
  }
}

/** A monotonic clock in milliseconds (wall time may step). */
function now(): number {
  return performance.now();
}

/** True when `ref` names data set d of `record`'s live version exactly. */
export function isVersionOf(record: CatalogRecord | undefined, ref: Pick<DatasetRef, 'fileId' | 'datasetIndex' | 'sequence'>): boolean {
  return record !== undefined && !record.deleted && record.fileId === ref.fileId
    && ref.datasetIndex < record.datasetCount && datasetSequence(record, ref.datasetIndex) === ref.sequence;
}

/**
 * The name's newest record (a tombstone counts) over every readable store; undefined when the
 * name has none any more, 'unknown' when no store's catalog could be read at all.
 */
export async function newestCommitted(ctx: WorkerContext, name: string): Promise<CatalogRecord | 'unknown' | undefined> {
  let newest: CatalogRecord | undefined;
  let scanned = 0;
  const held = new Map<string, bigint>();
  for (const store of ctx.allStores()) {
    if (!store.readable) continue;
    const scan = await scanCatalog(store.path, name, held).catch(() => undefined);
    if (!scan) continue;
    scanned++;
    const found = scan.records.find((r) => r.name === name);
    if (found && (!newest || newestRecord([newest, found]) === found)) {
      newest = found;
      held.set(nameHash(name), found.sequence);
    }
  }
  return scanned === 0 ? 'unknown' : newest;
}
