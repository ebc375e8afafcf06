import type { CatalogRecord } from '../format/catalog-record.js';
import { readNewestRecords } from './catalog.js';

/**
 * The packs that versions keeping a packed file's place refer to (a sync of a new mode or time:
 * the new record names the pack the previous one did). A writer announces them with its versions,
 * so a repack that moved those files does not remove the pack under it (docs/FORMAT.md §5.1).
 */
export function reusedPacks(planned: readonly { record: CatalogRecord }[]): { fileId: string; sequence: bigint }[] {
  return planned.flatMap((p) => (p.record.pack ? [{ fileId: p.record.pack.fileId, sequence: p.record.pack.sequence }] : []));
}

/**
 * Indexes of the versions keeping a place in a pack that their name's newest record no longer has
 * (a repack moved the file, or another writer replaced it, after they were planned): they are
 * not committed but planned again, like a source that changed while it was read. Read after the
 * writer's announcement: a repack committing later sees the announcement and keeps the pack.
 */
export async function packsMovedMeanwhile(readablePaths: readonly string[], planned: readonly { record: CatalogRecord }[]): Promise<ReadonlySet<number>> {
  const keeping = planned.flatMap((p, i) => (p.record.pack ? [i] : []));
  if (keeping.length === 0) return new Set();
  const now = await readNewestRecords(readablePaths, keeping.map((i) => planned[i].record.name));
  return new Set(keeping.filter((i) => {
    const pack = planned[i].record.pack;
    const current = now.records.get(planned[i].record.name)?.pack;
    return current === undefined || pack === undefined || current.fileId !== pack.fileId || current.sequence !== pack.sequence;
  }));
}
