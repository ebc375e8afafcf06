import { storeAt } from '../store/store-set.js';
import { CATALOG_BUCKETS } from '../store/store-layout.js';
import type { SettledBucket } from '../store/catalog-compaction.js';
import { decodeSegmentHeader } from '../format/catalog-segment.js';
import { refreshCatalogCopies, settledStates, type CatalogView } from './catalog.js';

/** What a check's catalog upkeep did, for its report. */
export interface CatalogUpkeep {
  /** Record copies written to stores that lacked the newest version of a name. */
  readonly copied: number;
  /** Names whose tombstones were removed (every store had seen them). */
  readonly collected: number;
  /** Segment files replaced by merged ones. */
  readonly merged: number;
}

export interface CatalogUpkeepOptions {
  /** Whether copies may be written as segments (allowsCatalogSegments). */
  readonly segments: boolean;
  /** Tombstones may be collected: every store of the pool is writable. */
  readonly collectTombstones: boolean;
  /** Deleted files some store still held blocks of when the check started: their tombstones stay. */
  readonly keepFileIds: ReadonlySet<string>;
}

/**
 * What a check does to the catalogs once the data sets are settled, one catalog bucket at a time,
 * so its memory is one bucket's records whatever the pool holds (done for the whole catalog at
 * once, a check of 1,000,000 names held the merged view and every store's version keys, and ran
 * out of heap). For each bucket: the newest version of every name is copied to the writable stores
 * that lack it; tombstones every store holds are dropped; the bucket's segments and plain record
 * files are merged into one segment per store (compactCatalog). Only a check, holding the epoch,
 * runs this. A store that fails stays behind; the next check brings it up to date.
 */
export async function keepCatalogsUp(
  readablePaths: readonly string[], writablePaths: readonly string[], options: CatalogUpkeepOptions,
): Promise<CatalogUpkeep> {
  let copied = 0;
  let collected = 0;
  let merged = 0;
  const everyStore = [...new Set([...readablePaths, ...writablePaths])];
  for (const bucket of CATALOG_BUCKETS) {
    const states = readablePaths.length > 0 ? await settledStates(everyStore, bucket) : [];
    // Nothing anywhere, or the same segment on every store: nothing to copy, collect or merge.
    if (states.length > 0 && states.every((s) => s === 'empty')) continue;
    const settled = sameSettledSegment(states);
    const clean = settled !== undefined && !settled.tombstones;
    // Several segments the same everywhere still get merged into one (below).
    const single = clean && (settled.segments ?? 1) === 1;
    if (single && states.every((s) => s !== 'empty')) continue;
    const adopted = clean ? await copySettledSegments(everyStore, states, writablePaths, bucket, settled.id.split('+')) : undefined;
    if (adopted !== undefined) copied += adopted.recordLines;
    // Several segments copied to a rebuilt store are left for the next check to merge: the copies
    // are identical and complete, and merging them on every store cost a rebuild straight after a
    // put -r of 50,000 files 1.6 of its 5 s.
    if (adopted !== undefined && (single || adopted.stores > 0)) continue;
    let drop: { name: string; sequence: bigint }[] = [];
    if (adopted === undefined) {
      const { written, view } = await refreshCatalogCopies(readablePaths, writablePaths, options.segments, { buckets: [bucket] });
      copied += written;
      if (options.collectTombstones) drop = collectable(view, writablePaths.length, options.keepFileIds);
    }
    const outcomes = await Promise.all(writablePaths.map(async (storePath) => {
      const store = storeAt(storePath);
      try {
        // Segments first: were a plain tombstone removed while a segment still held an older
        // version of the name, that version would come back. A crash between the two leaves the tombstone.
        const compaction = await store.compactCatalog([bucket], drop);
        merged += compaction.segmentsMerged;
        if (drop.length === 0) return true;
        const versions = await store.listRecordVersionsOf(drop.map((d) => d.name));
        for (const { name, sequence } of drop) {
          for (const version of versions.get(name) ?? []) {
            if (version <= sequence) await store.removeCatalogRecord(name, version);
          }
        }
        return true;
      } catch {
        return false;
      }
    }));
    if (outcomes.every(Boolean)) collected += drop.length;
  }
  return { copied, collected, merged };
}

/**
 * The settled segment every store that holds anything of the bucket holds (at least one does),
 * the others holding nothing; undefined when any store cannot answer or holds something else.
 */
function sameSettledSegment(states: readonly (SettledBucket | 'empty' | undefined)[]): SettledBucket | undefined {
  let found: SettledBucket | undefined;
  for (const state of states) {
    if (state === undefined) return undefined;
    if (state === 'empty') continue;
    if (found !== undefined && found.id !== state.id) return undefined;
    found = state;
  }
  return found;
}

/**
 * The bucket's catalog upkeep when the stores that hold it hold the same settled segments and the
 * rest hold nothing (a store rebuilt from empty or replaced): the segments' bytes are copied to
 * each writable store of the rest, as they are (adoptSettledSegments checks them again), instead
 * of every copy being decoded, merged and encoded (a rebuild of a 50,000-name pool spent 2 of its
 * 5.4 s there). Returns the record lines copied and to how many stores, or undefined when a store
 * refused or failed, and the bucket then gets the full upkeep (which finds what is already copied).
 */
async function copySettledSegments(
  everyStore: readonly string[], states: readonly (SettledBucket | 'empty' | undefined)[], writablePaths: readonly string[], bucket: string, ids: readonly string[],
): Promise<{ readonly recordLines: number; readonly stores: number } | undefined> {
  const targets = everyStore.filter((storePath, i) => states[i] === 'empty' && writablePaths.includes(storePath));
  if (targets.length === 0) return { recordLines: 0, stores: 0 };
  const sources = everyStore.filter((_, i) => states[i] !== 'empty');
  const segments: { id: string; bytes: Buffer }[] = [];
  let recordLines = 0;
  for (const id of ids) {
    let bytes: Buffer | undefined;
    for (const source of sources) {
      bytes = await storeAt(source).readSettledSegment(bucket, id).catch(() => undefined);
      if (bytes !== undefined) break;
    }
    if (bytes === undefined) return undefined;
    const headerEnd = bytes.indexOf(0x0a);
    const recordCount = headerEnd < 0 ? undefined : decodeSegmentHeader(bytes.toString('utf8', 0, headerEnd))?.recordCount;
    if (recordCount === undefined) return undefined;
    recordLines += recordCount;
    segments.push({ id, bytes });
  }
  const adopted = await Promise.all(targets.map((target) => storeAt(target).adoptSettledSegments(bucket, segments).catch(() => false)));
  return adopted.every(Boolean) ? { recordLines: recordLines * targets.length, stores: targets.length } : undefined;
}

/**
 * A tombstone can go once every store of the pool holds it (no store can bring back an older
 * record) and no store holds blocks of the deleted file (those the check's scans found are removed
 * in this check, and the tombstone goes in the next: leftover blocks of a file with no record at
 * all would look like an unfinished write and be rolled forward).
 */
function collectable(view: CatalogView, storeCount: number, keepFileIds: ReadonlySet<string>): { name: string; sequence: bigint }[] {
  const drop: { name: string; sequence: bigint }[] = [];
  for (const record of view.records.values()) {
    if (record.deleted && view.copies.get(record.name) === storeCount && !keepFileIds.has(record.fileId)) drop.push({ name: record.name, sequence: record.sequence });
  }
  return drop;
}
