import { placeDataset } from '../format/placement.js';
import { liveRecords, readNewestRecords } from './catalog.js';
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

/** Files and symlinks; directory entries (kept for their modes and times, and the empty ones) by name. */
export async function listFiles(options: { pool?: string; prefix?: string }): Promise<{ poolName: string; files: ListedFile[]; directories: string[] }> {
  const pool = await openPool(options.pool);
  const readable = pool.stores.filter(isReadable).map((s) => s.path);
  const entries = liveRecords(await readNewestRecords(readable)).filter((r) => !options.prefix || r.name.startsWith(options.prefix));
  const records = entries.filter((r) => r.kind !== 'dir');
  const unreadable = new Set(pool.stores.filter((s) => !isReadable(s)).map((s) => s.slot));
  // A store whose writes failed (a fault note) may lack the blocks of files written since then.
  const faults = await readStoreFaults(readable, pool.manifest);
  const slots = pool.manifest.stores.map((s) => s.slot);
  const files = records.map((r): ListedFile => {
    let health: ListedHealth = 'ok';
    const writtenMs = Date.parse(r.writtenAt);
    const down = faults.size === 0 ? unreadable : new Set([...unreadable, ...[...faults.values()].filter((f) => !(writtenMs < f.sinceMs)).map((f) => f.slot)]);
    if (down.size > 0) {
      // A packed file's bytes are in its pack's one data set (docs/FORMAT.md §5.1).
      const datasets = r.pack ? [{ fileId: r.pack.fileId, d: 0 }] : Array.from({ length: r.datasetCount }, (_, d) => ({ fileId: r.fileId, d }));
      for (const { fileId, d } of datasets) {
        if (health === 'unavailable') break;
        const lostHere = placeDataset(fileId, d, slots, r.k + r.m).filter((slot) => down.has(slot)).length;
        if (lostHere > r.m) health = 'unavailable';
        else if (lostHere > 0) health = 'degraded';
      }
    }
    const link = r.kind === 'symlink' ? { kind: 'symlink' as const, target: r.target } : {};
    return { name: r.name, ...link, sizeBytes: r.fileSizeBytes, datasets: r.datasetCount, writtenAt: r.writtenAt, health };
  });
  return { poolName: pool.manifest.name, files, directories: entries.filter((r) => r.kind === 'dir').map((r) => r.name) };
}

export function isReadable(store: StoreState): boolean {
  return store.condition === 'online' || store.condition === 'read-only';
}
