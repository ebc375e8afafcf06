import fs from 'node:fs/promises';
import path from 'node:path';
import type { Manifest, StoreEntry } from '../format/manifest.js';
import type { StoreAccess } from '../cluster/protocol.js';
import { describeError, errnoWords, ioError, usageError } from '../rain-error.js';
import { storeUnusableWhy } from './store-problem.js';
import { findRegisteredPool, recordPoolStores, registeredPoolById } from '../store/pool-registry.js';
import { isRemoteStorePath, parseStoreLocation } from '../store/store-location.js';
import type { MetadataRead } from '../store/store-metadata.js';
import { storeAt } from '../store/store-set.js';
import { locateStores, type IdentityRead } from './locate-stores.js';
import { notice } from './notices.js';

/** A store on a host that cannot be reached has no readable manifest; that is not a crash. */
async function readManifest(storePath: string): Promise<MetadataRead<Manifest>> {
  try {
    return await storeAt(storePath).readManifest();
  } catch (error) {
    return { status: 'unreachable', reason: error instanceof Error ? error.message : String(error) };
  }
}

export type StoreCondition =
  | 'online'      // identity matches, readable and writable
  | 'read-only'   // identity matches, but the directory cannot be written
  | 'missing'     // the directory does not exist (disk gone, unmounted)
  | 'empty'       // the directory exists but holds no rain store (emptied or re-created)
  | 'foreign'     // holds a store of another pool, or of another store in this slot
  | 'unreadable'; // exists but cannot be read, or its identity file is damaged

export interface StoreState extends StoreEntry {
  readonly condition: StoreCondition;
  readonly detail?: string;
  /** The epoch of the manifest this store holds, if any (older than the pool's means it was away). */
  readonly manifestEpoch?: number;
  /** Space on the store's file system, as its host sees it. */
  readonly totalBytes?: number;
  readonly freeBytes?: number;
  /** Its identity file is damaged (why), though the store's own manifest shows it is this slot's store: a check rewrites it. */
  readonly identityDamaged?: string;
}

export interface OpenPool {
  readonly manifest: Manifest;
  readonly stores: readonly StoreState[];
  /** Stores whose manifest copy is damaged or behind; reported, and refreshed by `rebuild`. */
  readonly manifestProblems: readonly string[];
}

/**
 * Finds the pool from `-p` (a store directory or a registered pool name) or RAIN_POOL, reads every
 * listed store's manifest and trusts the highest epoch among those of the same pool id.
 */
export async function openPool(poolArgument: string | undefined): Promise<OpenPool> {
  const given = poolArgument ?? process.env.RAIN_POOL;
  if (!given) throw usageError('no pool given: pass -p STORE_DIR (any store of the pool) or a pool name, or set RAIN_POOL');
  const { paths: candidates, poolId: expectedPoolId, givenDirectory } = await candidateStorePaths(given);
  let best: Manifest | undefined;
  // In parallel: a pool named through the registry lists all its stores, and each ssh:// one
  // costs a connection set-up (seconds), a dead host its timeout.
  for (const read of await Promise.all(candidates.map((storePath) => readManifest(storePath)))) {
    if (read.status !== 'ok') continue;
    // A pool named through the registry must be that pool: a directory that now holds another
    // pool's store (a disk moved, a path reused) is not allowed to redirect the command.
    if (expectedPoolId && read.value.poolId !== expectedPoolId) continue;
    if (!best || (read.value.poolId === best.poolId && read.value.epoch > best.epoch)) best = read.value;
  }
  if (!best) {
    throw usageError(`${given} is not a rain pool (no readable pool manifest there); give a store directory of the pool or a pool name`);
  }
  // A store listed by the manifest may have seen a newer epoch (a --replace while this one was away).
  // In parallel: each ssh:// store costs a connection set-up, and a dead host its timeout.
  const listed = best;
  for (const read of await Promise.all(listed.stores.map((entry) => readManifest(entry.path)))) {
    if (read.status === 'ok' && read.value.poolId === best.poolId && read.value.epoch > best.epoch) best = read.value;
  }
  // Each store's id, not its path, decides its slot: stores found at other paths (swapped or
  // renamed mount points) are used there, and the registry learns where they are now. The
  // manifests keep the paths of their epoch until the next check or rebuild commits these.
  const registered = await registeredPoolById(best.poolId).catch(() => undefined);
  const located = await locateStores(best, registered, givenDirectory);
  const manifest: Manifest = { ...best, name: registered?.name ?? best.name, stores: located.entries };
  const owners = new Map(manifest.stores.map((s) => [s.storeId, s]));
  const stores = await Promise.all(manifest.stores.map((entry) => {
    const ambiguous = located.ambiguous.get(entry.slot);
    if (ambiguous) return { ...entry, condition: 'foreign' as const, detail: ambiguous };
    return inspectStore(manifest, entry, located.identities.get(entry.path), owners);
  }));
  for (const copy of located.copies) announceOnce(copy);
  if (located.relocations.length > 0) {
    const recorded = await recordPoolStores(manifest.name, manifest.poolId, manifest.stores).then(() => undefined, (error: unknown) => describeError(error));
    for (const r of located.relocations) {
      announceOnce(`store ${r.slot} (id ${r.storeId.slice(0, 8)}) found at ${r.toPath} (was ${r.fromPath}); ${recorded === undefined ? "the pool's record is updated" : `the pool's record could not be updated (${recorded})`}`);
    }
  }
  const manifestProblems: string[] = [];
  for (const store of stores) {
    if (store.condition !== 'online' && store.condition !== 'read-only') continue;
    if (store.identityDamaged) manifestProblems.push(`store ${store.slot} (${store.path}): identity file rain-store.json damaged (${store.identityDamaged})`);
    if (store.manifestEpoch === undefined) manifestProblems.push(`store ${store.slot} (${store.path}): manifest damaged or absent`);
    else if (store.manifestEpoch < manifest.epoch) manifestProblems.push(`store ${store.slot} (${store.path}): manifest at epoch ${store.manifestEpoch}, pool at ${manifest.epoch}`);
  }
  return { manifest, stores, manifestProblems };
}

/**
 * Where to look for the manifest: a directory given by path that holds a readable manifest is
 * the pool the user pointed at; otherwise the registry entry (by name, or the one listing that
 * path) gives the store paths and the pool id they must carry.
 */
async function candidateStorePaths(given: string): Promise<{ paths: string[]; poolId?: string; givenDirectory?: string }> {
  if (isRemoteStorePath(given)) {
    const location = parseStoreLocation(given);
    if ('error' in location) throw usageError(location.error);
    const read = await readManifest(location.kind === 'ssh' ? location.url : location.path);
    if (read.status === 'unreachable') throw ioError(read.reason);
    return { paths: [location.kind === 'ssh' ? location.url : location.path] };
  }
  const asPath = path.resolve(given);
  const isDirectory = await fs.stat(asPath).then((s) => s.isDirectory(), () => false);
  const givenDirectory = isDirectory ? asPath : undefined;
  if (isDirectory && (await readManifest(asPath)).status === 'ok') return { paths: [asPath], givenDirectory };
  const registered = await findRegisteredPool(given);
  if (registered) return { paths: [...new Set(registered.storePaths)], poolId: registered.poolId, givenDirectory };
  if (isDirectory) return { paths: [asPath], givenDirectory };
  throw usageError(`${given}: no such store directory or registered pool name`);
}

/** A command may open its pool several times (a gate, a rebuild's reopen): each finding is said once. */
const announced = new Set<string>();
function announceOnce(message: string): void {
  if (announced.has(message)) return;
  announced.add(message);
  notice(message);
}

async function inspectStore(manifest: Manifest, entry: StoreEntry, identityRead: IdentityRead | undefined, owners: ReadonlyMap<string, StoreEntry>): Promise<StoreState> {
  let probe;
  try {
    probe = await storeAt(entry.path).probe({ writeProbe: false });
  } catch (error) {
    // An ssh store whose host is down, refuses us or has no rain: unreachable, like an unmounted disk.
    return { ...entry, condition: 'unreadable', detail: error instanceof Error ? error.message : String(error) };
  }
  if (probe.error !== undefined) {
    return { ...entry, condition: probe.error === 'ENOENT' ? 'missing' : 'unreadable', detail: probe.error === 'ENOENT' ? 'directory not found' : errnoWords(probe.error) ?? probe.error };
  }
  if (!probe.isDirectory) return { ...entry, condition: 'unreadable', detail: 'not a directory' };
  const identity = identityRead ?? await storeAt(entry.path).readIdentity().catch((error: unknown) => ({ status: 'unreachable' as const, reason: describeError(error) }));
  const manifestRead = await readManifest(entry.path);
  const manifestEpoch = manifestRead.status === 'ok' && manifestRead.value.poolId === manifest.poolId ? manifestRead.value.epoch : undefined;
  if (identity.status === 'absent') return { ...entry, condition: 'empty', detail: 'no rain store here (emptied or re-created)' };
  if (identity.status === 'corrupt') {
    // A bit-flipped or replaced identity file: the store's own manifest still says which pool
    // and store it is, so it keeps serving (its blocks check themselves) and the check rewrites it.
    const own = manifestRead.status === 'ok' ? manifestRead.value : undefined;
    if (own?.poolId === manifest.poolId && own.stores.some((s) => s.slot === entry.slot && s.storeId === entry.storeId)) {
      return {
        ...entry, condition: probe.writable ? 'online' : 'read-only', manifestEpoch, totalBytes: probe.totalBytes, freeBytes: probe.freeBytes,
        identityDamaged: identity.reason,
      };
    }
    return { ...entry, condition: 'unreadable', detail: `store identity ${identity.reason}`, identityDamaged: identity.reason };
  }
  if (identity.status !== 'ok') return { ...entry, condition: 'unreadable', detail: `store identity ${identity.reason}` };
  if (identity.value.poolId !== manifest.poolId) return { ...entry, condition: 'foreign', detail: `belongs to pool ${identity.value.poolId}` };
  if (identity.value.storeId !== entry.storeId) {
    const owner = owners.get(identity.value.storeId);
    const detail = !owner ? 'holds an older store of this slot (replaced)'
      : owner.path === entry.path ? `holds store ${owner.slot} (moved here); this slot's store was not found`
        : `holds a copy of store ${owner.slot}, which is used at ${owner.path}`;
    return { ...entry, condition: 'foreign', detail };
  }
  return { ...entry, condition: probe.writable ? 'online' : 'read-only', manifestEpoch, totalBytes: probe.totalBytes, freeBytes: probe.freeBytes };
}

/** What the workers may touch: foreign and empty stores are neither read nor written. */
export function storeAccess(stores: readonly StoreState[]): StoreAccess[] {
  return stores.map((s) => ({
    slot: s.slot,
    path: s.path,
    readable: s.condition === 'online' || s.condition === 'read-only',
    writable: s.condition === 'online',
    ...(s.condition === 'online' ? {} : { why: storeUnusableWhy(s) }),
  }));
}

/**
 * Writing needs k writable stores (fewer could not hold a single data set); reading, checking
 * and repairing go ahead with any store reachable, so that what survives is reported as such
 * and lost data is reported as lost (exit 2) rather than as an operational failure.
 */
export function requireQuorum(pool: OpenPool, what: string, mode: 'read' | 'write'): void {
  const readable = pool.stores.filter((s) => s.condition === 'online' || s.condition === 'read-only').length;
  const writable = pool.stores.filter((s) => s.condition === 'online').length;
  if (mode === 'write' && writable < pool.manifest.k) {
    throw ioError(`${what}: only ${writable} of ${pool.stores.length} stores are writable, at least k = ${pool.manifest.k} are needed; check mounts (rain status)`);
  }
  if (readable === 0) throw ioError(`${what}: no store of the pool is reachable; check mounts (rain status)`);
}
