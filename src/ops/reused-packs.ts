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
 * Indexes of the versions keeping something of an older version that their name's newest record
 * no longer has, read after the writer's announcement: a place in a pack (a repack moved the
 * file, or another writer replaced it) or data sets of `previous` (a sync keeps the unchanged
 * ones at their old sequence; a put or rm that committed meanwhile collected them). They are not
 * committed but planned again, like a source that changed while it was read. A collector that
 * commits later sees the announcement and leaves the pack or the blocks alone (a repack;
 * dataset/writers-ahead.ts).
 */
export async function keptMeanwhileGone(
  readablePaths: readonly string[],
  planned: readonly { record: CatalogRecord; previous?: CatalogRecord; keepIfChecksums?: readonly (number | undefined)[] }[],
): Promise<ReadonlySet<number>> {
  const keeping = planned.flatMap((p, i) => (p.record.pack || keepsDatasets(p) ? [i] : []));
  if (keeping.length === 0) return new Set();
  const now = await readNewestRecords(readablePaths, keeping.map((i) => planned[i].record.name));
  return new Set(keeping.filter((i) => {
    const { record, previous } = planned[i];
    const current = now.records.get(record.name);
    if (record.pack) {
      const kept = current?.pack;
      return kept === undefined || kept.fileId !== record.pack.fileId || kept.sequence !== record.pack.sequence;
    }
    return previous === undefined || current === undefined || current.fileId !== previous.fileId || current.sequence !== previous.sequence;
  }));
}

/** The version refers to data sets at an older sequence, or its workers may keep some (they compare as they read). */
function keepsDatasets(p: { record: CatalogRecord; keepIfChecksums?: readonly (number | undefined)[] }): boolean {
  return p.keepIfChecksums !== undefined || (p.record.datasetSequences?.some((sequence) => sequence !== p.record.sequence) ?? false);
}
