import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { errnoCode } from '../rain-error.js';
import { replaceFileAtomically } from './atomic-file.js';

/**
 * A user-level index from pool names to store paths, so `-p NAME` works and a pool can still be
 * found when the store given on the command line has a damaged manifest. It is a convenience:
 * the stores' identities and manifests stay the truth (a store is recognised by its id wherever
 * it is mounted; this file only remembers where each one was last seen).
 */
export function registryPath(): string {
  const base = process.env.RAIN_CONFIG_DIR
    ?? path.join(process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'rain');
  return path.join(base, 'pools.json');
}

/** Where one store of a registered pool was last seen. */
export interface RegisteredStore {
  readonly slot: number;
  readonly storeId: string;
  readonly path: string;
}

export interface RegistryEntry {
  readonly name: string;
  readonly poolId: string;
  /** In slot order; kept for older rain versions, which read only this. */
  readonly storePaths: readonly string[];
  /** Absent in entries written by older versions. */
  readonly stores?: readonly RegisteredStore[];
}

function isRegisteredStore(value: unknown): value is RegisteredStore {
  const s = value as Partial<RegisteredStore> | null;
  return typeof s === 'object' && s !== null && Number.isInteger(s.slot) && typeof s.storeId === 'string' && typeof s.path === 'string';
}

export async function readRegistry(): Promise<RegistryEntry[]> {
  try {
    const parsed = JSON.parse(await fs.readFile(registryPath(), 'utf8')) as { pools?: RegistryEntry[] };
    if (!Array.isArray(parsed.pools)) return [];
    return parsed.pools
      .filter((p) => typeof p.name === 'string' && typeof p.poolId === 'string' && Array.isArray(p.storePaths))
      .map((p) => {
        const stores = Array.isArray(p.stores) && p.stores.every(isRegisteredStore) ? p.stores : undefined;
        return { name: p.name, poolId: p.poolId, storePaths: p.storePaths.filter((s) => typeof s === 'string'), ...(stores ? { stores } : {}) };
      });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || error instanceof SyntaxError) return [];
    throw error;
  }
}

/**
 * Written to a temporary file, fsynced and renamed over the old one, so a reader (or a crash)
 * sees the old registry or the new one, never half of one. Two commands updating it at the same
 * moment may lose one update; it is rewritten the next time a pool is opened or checked.
 */
async function writeRegistry(pools: readonly RegistryEntry[]): Promise<void> {
  const file = registryPath();
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await replaceFileAtomically(file, temp, `${JSON.stringify({ pools }, null, 2)}\n`);
}

export function entryOf(name: string, poolId: string, stores: readonly RegisteredStore[]): RegistryEntry {
  const bySlot = [...stores].sort((a, b) => a.slot - b.slot);
  return { name, poolId, storePaths: bySlot.map((s) => s.path), stores: bySlot.map((s) => ({ slot: s.slot, storeId: s.storeId, path: s.path })) };
}

/** A new pool (init): its name must be free (checked by the caller, see `poolNamed`). */
export async function registerPool(entry: RegistryEntry): Promise<void> {
  const pools = (await readRegistry()).filter((p) => p.poolId !== entry.poolId && p.name !== entry.name);
  await writeRegistry([...pools, entry]);
}

/**
 * Records where the stores of a known pool are now (a rebuild --replace, stores found at new
 * paths). The pool keeps the name it is registered under; a pool not registered yet is added
 * under `name` only if no other pool has that name (a name is never taken from another pool).
 */
export async function recordPoolStores(name: string, poolId: string, stores: readonly RegisteredStore[]): Promise<void> {
  const pools = await readRegistry();
  const existing = pools.find((p) => p.poolId === poolId);
  if (!existing && pools.some((p) => p.name === name)) return;
  const entry = entryOf(existing?.name ?? name, poolId, stores);
  await writeRegistry(pools.map((p) => (p.poolId === poolId ? entry : p)).concat(existing ? [] : [entry]));
}

export async function findRegisteredPool(nameOrPath: string): Promise<RegistryEntry | undefined> {
  const pools = await readRegistry();
  const resolved = path.resolve(nameOrPath);
  return pools.find((p) => p.name === nameOrPath) ?? pools.find((p) => p.storePaths.includes(resolved));
}

export async function registeredPoolById(poolId: string): Promise<RegistryEntry | undefined> {
  return (await readRegistry()).find((p) => p.poolId === poolId);
}

export async function poolNamed(name: string): Promise<RegistryEntry | undefined> {
  return (await readRegistry()).find((p) => p.name === name);
}

/** Renames a registry entry; the caller has checked that `newName` is free. Returns false if `oldName` is unknown. */
export async function renameRegisteredPool(oldName: string, newName: string): Promise<boolean> {
  const pools = await readRegistry();
  if (!pools.some((p) => p.name === oldName)) return false;
  await writeRegistry(pools.map((p) => (p.name === oldName ? { ...p, name: newName } : p)));
  return true;
}

/** Removes a registry entry (never a store). Returns the removed entry, undefined if there was none. */
export async function forgetRegisteredPool(name: string): Promise<RegistryEntry | undefined> {
  const pools = await readRegistry();
  const removed = pools.find((p) => p.name === name);
  if (removed) await writeRegistry(pools.filter((p) => p !== removed));
  return removed;
}
