import { describeError, RainError, usageError } from '../rain-error.js';
import { forgetRegisteredPool, poolNamed, readRegistry, renameRegisteredPool, type RegistryEntry } from '../store/pool-registry.js';
import { isReadable } from './list-files.js';
import { openPool } from './open-pool.js';

export { registryPath } from '../store/pool-registry.js';

export interface RegisteredStoreHealth {
  readonly slot: number;
  readonly path: string;
  /** A store condition (online, missing, ...), or 'unknown' when the pool could not be opened. */
  readonly state: string;
  readonly detail?: string;
}

export interface RegisteredPoolHealth {
  readonly name: string;
  readonly poolId: string;
  readonly k?: number;
  readonly m?: number;
  readonly epoch?: number;
  /** 'unreachable': no store of the pool could be read (disks unmounted, hosts down). */
  readonly health: 'healthy' | 'degraded' | 'unavailable' | 'unreachable';
  readonly detail?: string;
  readonly stores: RegisteredStoreHealth[];
}

/**
 * Every registered pool with its stores and health, from what `status` sees without reading the
 * catalog (identities, manifests, a stat per store), so it is quick even for large pools. A pool
 * that cannot be opened is listed as unreachable, never an error.
 */
export async function registeredPoolsHealth(): Promise<RegisteredPoolHealth[]> {
  const entries = await readRegistry();
  // One pool after another: opening a pool of ssh stores costs connection set-ups, and their
  // workers are shared per process; a dozen local pools take well under a second.
  const result: RegisteredPoolHealth[] = [];
  for (const entry of entries) result.push(await healthOf(entry));
  return result;
}

async function healthOf(entry: RegistryEntry): Promise<RegisteredPoolHealth> {
  try {
    const pool = await openPool(entry.name);
    if (pool.manifest.poolId !== entry.poolId) throw new Error(`the name leads to pool ${pool.manifest.poolId}`);
    const down = pool.stores.filter((s) => s.condition !== 'online').length;
    const unreadable = pool.stores.filter((s) => !isReadable(s)).length;
    const health = unreadable > pool.manifest.m ? 'unavailable' : down > 0 || pool.manifestProblems.length > 0 ? 'degraded' : 'healthy';
    return {
      name: entry.name, poolId: entry.poolId, k: pool.manifest.k, m: pool.manifest.m, epoch: pool.manifest.epoch, health,
      stores: pool.stores.map((s) => ({ slot: s.slot, path: s.path, state: s.condition, ...(s.detail ? { detail: s.detail } : {}) })),
    };
  } catch (error) {
    return {
      name: entry.name, poolId: entry.poolId, health: 'unreachable',
      // openPool's "not a rain pool" is about what the user typed; here the name is known, its stores are not readable.
      detail: error instanceof RainError && error.kind === 'usage' ? 'no store of the pool could be read (disks unmounted, hosts down?)' : describeError(error),
      stores: entry.storePaths.map((path, slot) => ({ slot: entry.stores?.[slot]?.slot ?? slot, path, state: 'unknown' })),
    };
  }
}

/** A pool name is typed after -p and read by cron: printable, no spaces at its ends. */
function checkPoolName(name: string): void {
  if (name.length === 0 || name.trim() !== name || /[\u0000-\u001f\u007f]/.test(name)) {
    throw usageError(`${JSON.stringify(name)} is not a usable pool name (empty, control characters or spaces at its ends)`);
  }
}

export async function renamePool(oldName: string, newName: string): Promise<RegistryEntry> {
  checkPoolName(newName);
  const existing = await poolNamed(oldName);
  if (!existing) throw usageError(`no registered pool is named ${oldName} (see 'rain pools')`);
  if (oldName === newName) return existing;
  const taken = await poolNamed(newName);
  if (taken) throw usageError(`the name ${newName} is in use by pool ${taken.poolId.slice(0, 8)}; choose another name, or 'rain pools forget ${newName}' first`);
  await renameRegisteredPool(oldName, newName);
  return { ...existing, name: newName };
}

export async function forgetPool(name: string): Promise<RegistryEntry> {
  const removed = await forgetRegisteredPool(name);
  if (!removed) throw usageError(`no registered pool is named ${name} (see 'rain pools')`);
  return removed;
}
