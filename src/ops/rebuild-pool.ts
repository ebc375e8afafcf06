import fs from 'node:fs/promises';
import path from 'node:path';
import type { Manifest } from '../format/manifest.js';
import { newId } from '../format/ids.js';
import { describeError, ioError, usageError } from '../rain-error.js';
import { MANIFEST_FILE, STORE_IDENTITY_FILE } from '../store/store-layout.js';
import { writeManifest, writeStoreIdentity } from '../store/store-metadata.js';
import { registerPool } from '../store/pool-registry.js';
import { refreshCatalogCopies } from './catalog.js';
import { openPool, type OpenPool } from './open-pool.js';
import { PoolSession } from './pool-session.js';
import { examinePool, type PoolHealthReport } from './verify-pool.js';

export interface RebuildOptions {
  readonly pool?: string;
  /** OLD (a store path or slot number) = NEW (an empty directory that takes the slot). */
  readonly replace?: readonly string[];
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface RebuildReport extends PoolHealthReport {
  readonly actions: string[];
}

/**
 * Restores full redundancy: re-creates the identity of emptied store directories, moves lost
 * slots to new directories (--replace, a new manifest epoch), refreshes manifests and catalogs,
 * then checks every data set with repair on, so each bad block is rebuilt and verified.
 */
export async function rebuildPool(options: RebuildOptions): Promise<RebuildReport> {
  let pool = await openPool(options.pool);
  const actions: string[] = [];
  if (options.replace && options.replace.length > 0) {
    pool = await replaceStores(pool, options.replace, actions);
  }
  for (const store of pool.stores) {
    if (store.condition !== 'empty') continue;
    await writeStoreIdentity(store.path, { poolId: pool.manifest.poolId, storeId: store.storeId, slot: store.slot });
    actions.push(`store ${store.slot} (${store.path}) was empty: re-created`);
  }
  pool = await openPool(pool.stores.find((s) => s.condition === 'online')?.path ?? options.pool);
  for (const store of pool.stores) {
    if (store.condition !== 'online' || store.manifestEpoch === pool.manifest.epoch) continue;
    await writeManifest(store.path, pool.manifest);
    actions.push(`store ${store.slot}: manifest refreshed to epoch ${pool.manifest.epoch}`);
  }
  pool = await openPool(pool.stores.find((s) => s.condition === 'online')?.path ?? options.pool);
  const session = await PoolSession.start(pool, 'rebuild', 'read');
  try {
    const refreshed = await refreshCatalogCopies(session.readablePaths, session.writablePaths);
    if (refreshed > 0) actions.push(`${refreshed} catalog records copied to stores that lacked them`);
    const report = await examinePool(session, { repair: true, onProgress: options.onProgress });
    const repaired = report.files.reduce((sum, f) => sum + f.repairedBlocks, 0);
    if (repaired > 0) actions.push(`${repaired} blocks rebuilt and verified`);
    // Repairs count as "problems found (and repaired)": exit 1 unless nothing needed doing.
    const exitCode = report.exitCode === 0 && actions.length > 0 ? 1 : report.exitCode;
    return { ...report, exitCode, actions };
  } finally {
    await session.close();
  }
}

async function replaceStores(pool: OpenPool, replacements: readonly string[], actions: string[]): Promise<OpenPool> {
  let stores = [...pool.manifest.stores];
  for (const spec of replacements) {
    const eq = spec.indexOf('=');
    if (eq <= 0 || eq === spec.length - 1) throw usageError(`--replace expects OLD=NEW (a store path or slot number = a new directory), got '${spec}'`);
    const oldSpec = spec.slice(0, eq);
    const newPath = path.resolve(spec.slice(eq + 1));
    const target = stores.find((s) => String(s.slot) === oldSpec || s.path === path.resolve(oldSpec));
    if (!target) throw usageError(`--replace: ${oldSpec} is not a store of this pool (see 'rain status')`);
    const current = pool.stores.find((s) => s.slot === target.slot);
    if (current?.condition === 'online') {
      throw usageError(`--replace: store ${target.slot} (${target.path}) is online; only a lost store can be replaced`);
    }
    if (stores.some((s) => s.path === newPath)) throw usageError(`--replace: ${newPath} is already a store of this pool`);
    await checkNewStoreDirectory(newPath);
    const storeId = newId();
    await writeStoreIdentity(newPath, { poolId: pool.manifest.poolId, storeId, slot: target.slot });
    stores = stores.map((s) => (s.slot === target.slot ? { slot: s.slot, storeId, path: newPath } : s));
    actions.push(`store ${target.slot}: ${target.path} replaced by ${newPath}`);
  }
  const manifest: Manifest = { ...pool.manifest, epoch: pool.manifest.epoch + 1, stores };
  for (const store of stores) {
    const state = pool.stores.find((s) => s.slot === store.slot);
    const isNew = state?.path !== store.path;
    if (!isNew && state?.condition !== 'online') continue;
    await writeManifest(store.path, manifest);
  }
  await registerPool({ name: manifest.name, poolId: manifest.poolId, storePaths: stores.map((s) => s.path) }).catch(() => undefined);
  const anchor = stores.find((s) => pool.stores.find((p) => p.slot === s.slot)?.condition === 'online') ?? stores[0];
  return openPool(anchor.path);
}

async function checkNewStoreDirectory(dir: string): Promise<void> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) throw usageError(`--replace: ${dir} does not exist or is not a directory; create it first`);
  for (const marker of [STORE_IDENTITY_FILE, MANIFEST_FILE]) {
    if (await fs.stat(path.join(dir, marker)).then(() => true, () => false)) {
      throw usageError(`--replace: ${dir} already holds a rain store`);
    }
  }
  try {
    await fs.access(dir, fs.constants.W_OK);
  } catch (error) {
    throw ioError(`--replace: ${dir} is not writable: ${describeError(error)}`);
  }
}
