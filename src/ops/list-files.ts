import type { CatalogRecord } from '../format/catalog-record.js';
import { placeDataset } from '../format/placement.js';
import { liveRecords, readNewestRecords } from './catalog.js';
import { streamNewestRecords } from './catalog-stream.js';
import { openPool, type StoreState } from './open-pool.js';
import { readStoreFaults } from './store-faults.js';

export type ListedHealth = 'ok' | 'degraded' | 'unavailable';

export interface ListedFile {
  /** In catalog form (format/name-bytes.ts): escapes for bytes that are not printable UTF-8. */
  readonly name: string;
  /** Absent for a regular file. */
  readonly kind?: 'symlink';
  /** A symlink's target, in the same form. */
  readonly target?: string;
  readonly sizeBytes: number;
  readonly datasets: number;
  readonly writtenAt: string;
  /** From store availability alone (no block is read; `verify` reads them). */
  readonly health: ListedHealth;
}

/** One entry of a listing: a file or symlink, or a directory (kept for its mode and times, and the empty ones). */
export type ListedEntry = { readonly directory: false; readonly file: ListedFile } | { readonly directory: true; readonly name: string };

export interface Listing {
  readonly poolName: string;
  /** In name order (compareCatalogNames). Streamed: read as it is iterated, in bounded memory (docs/DECISIONS.md D5). */
  readonly entries: Iterable<ListedEntry>;
  /** Catalog files that did not decode, known once `entries` is done. */
  readonly unreadable: readonly string[];
}

/**
 * The pool's names, sizes and health from store availability, streamed from the stores' sorted
 * catalog runs where it can be (every store local, a catalog a check has merged); else the
 * catalog is read whole first, as before.
 */
export async function listFiles(options: { pool?: string; prefix?: string }): Promise<Listing> {
  const pool = await openPool(options.pool);
  const readable = pool.stores.filter(isReadable).map((s) => s.path);
  const unreadableSlots = new Set(pool.stores.filter((s) => !isReadable(s)).map((s) => s.slot));
  // A store whose writes failed (a fault note) may lack the blocks of files written since then.
  const faults = await readStoreFaults(readable, pool.manifest);
  const slots = pool.manifest.stores.map((s) => s.slot);
  const healthOf = (r: CatalogRecord): ListedHealth => {
    const writtenMs = Date.parse(r.writtenAt);
    const down = faults.size === 0 ? unreadableSlots : new Set([...unreadableSlots, ...[...faults.values()].filter((f) => !(writtenMs < f.sinceMs)).map((f) => f.slot)]);
    if (down.size === 0) return 'ok';
    let health: ListedHealth = 'ok';
    // A packed file's bytes are in its pack's one data set (docs/FORMAT.md §5.1).
    const datasets = r.pack ? [{ fileId: r.pack.fileId, d: 0 }] : Array.from({ length: r.datasetCount }, (_, d) => ({ fileId: r.fileId, d }));
    for (const { fileId, d } of datasets) {
      if (health === 'unavailable') break;
      const lostHere = placeDataset(fileId, d, slots, r.k + r.m).filter((slot) => down.has(slot)).length;
      if (lostHere > r.m) health = 'unavailable';
      else if (lostHere > 0) health = 'degraded';
    }
    return health;
  };
  const stream = streamNewestRecords(readable, { prefix: options.prefix }) ?? await wholeCatalog(readable);
  return { poolName: pool.manifest.name, entries: listedEntries(stream.records, options.prefix, healthOf), unreadable: stream.unreadable };
}

/** The catalog read whole and sorted (a store over ssh, or too many segments to stream). */
async function wholeCatalog(readable: readonly string[]): Promise<{ records: Iterable<CatalogRecord>; unreadable: readonly string[] }> {
  const view = await readNewestRecords(readable);
  return { records: liveRecords(view), unreadable: view.unreadableFiles };
}

function* listedEntries(records: Iterable<CatalogRecord>, prefix: string | undefined, healthOf: (r: CatalogRecord) => ListedHealth): Generator<ListedEntry> {
  for (const r of records) {
    if (r.deleted || (prefix !== undefined && !r.name.startsWith(prefix))) continue;
    if (r.kind === 'dir') {
      yield { directory: true, name: r.name };
      continue;
    }
    const link = r.kind === 'symlink' ? { kind: 'symlink' as const, target: r.target } : {};
    yield { directory: false, file: { name: r.name, ...link, sizeBytes: r.fileSizeBytes, datasets: r.datasetCount, writtenAt: r.writtenAt, health: healthOf(r) } };
  }
}

export function isReadable(store: StoreState): boolean {
  return store.condition === 'online' || store.condition === 'read-only';
}
