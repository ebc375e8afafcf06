import type { Manifest, StoreEntry, StoreIdentity } from '../format/manifest.js';
import { describeError } from '../rain-error.js';
import type { RegistryEntry } from '../store/pool-registry.js';
import type { MetadataRead } from '../store/store-metadata.js';
import { storeAt } from '../store/store-set.js';

export type IdentityRead = MetadataRead<StoreIdentity>;

/** A store found by its id somewhere other than where the pool's records had it. */
export interface Relocation {
  readonly slot: number;
  readonly storeId: string;
  readonly fromPath: string;
  readonly toPath: string;
}

export interface LocatedStores {
  /** The manifest's entries with the path where each store is now (or its expected path if it was not found). */
  readonly entries: StoreEntry[];
  /** The identity read at each entry's path, so the store is not asked twice. */
  readonly identities: ReadonlyMap<string, IdentityRead>;
  readonly relocations: Relocation[];
  /** Slots whose store was found in more than one place: none of the places is used (why, in words). */
  readonly ambiguous: ReadonlyMap<number, string>;
  /** Copies of a store found beside the one in use: not used (in words). */
  readonly copies: string[];
}

async function readIdentityAt(storePath: string): Promise<IdentityRead> {
  try {
    return await storeAt(storePath).readIdentity();
  } catch (error) {
    return { status: 'unreachable', reason: describeError(error) };
  }
}

function holds(read: IdentityRead | undefined, poolId: string, entry: StoreEntry): boolean {
  return read?.status === 'ok' && read.value.poolId === poolId && read.value.storeId === entry.storeId;
}

/**
 * Which directory holds which store, decided by the store ids in rain-store.json rather than by
 * path, so swapped or renamed mount points (disks mounted in another order after a reboot, a
 * mount point renamed and given with -p) keep their slots without a rebuild. Each store is looked
 * for first where the registry last saw it (else the manifest's path); only when one is not there
 * are the other known paths (the manifest's, the registry's, the one given) read, one identity file each.
 * A store found in two places (a copy made with cp -a) is not used from either.
 */
export async function locateStores(manifest: Manifest, registered: RegistryEntry | undefined, givenPath: string | undefined): Promise<LocatedStores> {
  const lastSeen = new Map((registered?.stores ?? []).map((s) => [s.storeId, s.path]));
  const expected = manifest.stores.map((entry) => ({ ...entry, path: lastSeen.get(entry.storeId) ?? entry.path }));
  const identities = new Map<string, IdentityRead>();
  const readAll = async (paths: readonly string[]) => {
    const fresh = [...new Set(paths)].filter((p) => !identities.has(p));
    const reads = await Promise.all(fresh.map(readIdentityAt));
    fresh.forEach((p, i) => identities.set(p, reads[i]));
  };
  // The given directory is read too (one small file): it may be the store at its new path, or a copy.
  await readAll([...expected.map((e) => e.path), ...(givenPath ? [givenPath] : [])]);
  const unplaced = expected.filter((e) => !holds(identities.get(e.path), manifest.poolId, e));
  if (unplaced.length > 0) {
    await readAll([...manifest.stores.map((s) => s.path), ...(registered?.storePaths ?? [])]);
  }
  const holders = new Map<string, string[]>();
  for (const [storePath, read] of identities) {
    if (read.status !== 'ok' || read.value.poolId !== manifest.poolId) continue;
    holders.set(read.value.storeId, [...(holders.get(read.value.storeId) ?? []), storePath]);
  }
  const relocations: Relocation[] = [];
  const ambiguous = new Map<number, string>();
  const copies: string[] = [];
  const entries = expected.map((entry): StoreEntry => {
    const found = holders.get(entry.storeId) ?? [];
    const short = entry.storeId.slice(0, 8);
    if (holds(identities.get(entry.path), manifest.poolId, entry)) {
      for (const copy of found.filter((p) => p !== entry.path)) {
        copies.push(`${copy} holds a copy of store ${entry.slot} (id ${short}), which is used at ${entry.path}; the copy is not used; remove it`);
      }
      return entry;
    }
    if (found.length > 1) {
      ambiguous.set(entry.slot, `store ${entry.slot} (id ${short}) is at both ${found.join(' and ')} (a copy?); neither is used until only one holds it`);
      return entry;
    }
    if (found.length === 1) {
      relocations.push({ slot: entry.slot, storeId: entry.storeId, fromPath: entry.path, toPath: found[0] });
      return { ...entry, path: found[0] };
    }
    return entry;
  });
  return { entries, identities, relocations, ambiguous, copies };
}
