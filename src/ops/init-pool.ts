import fs from 'node:fs/promises';
import path from 'node:path';
import { encodeStoreIdentity, RESPONSIBILITY_VERSION, type Manifest } from '../format/manifest.js';
import { newId } from '../format/ids.js';
import { checkGeometry, DEFAULT_BLOCK_SIZE_BYTES } from '../format/pool-limits.js';
import { describeError, errnoCode, ioError, usageError } from '../rain-error.js';
import { publishExclusively } from '../store/durable-file.js';
import { registerPool } from '../store/pool-registry.js';
import { MANIFEST_FILE, STORE_IDENTITY_FILE } from '../store/store-layout.js';
import { writeManifest } from '../store/store-metadata.js';

export interface InitOptions {
  readonly k: number;
  readonly m: number;
  readonly blockSizeBytes?: number;
  readonly name?: string;
  readonly storePaths: readonly string[];
}

/**
 * Creates a pool: every store directory is claimed by exclusively creating its identity file, so
 * two `init`s over the same directory cannot both succeed, and a directory that already holds a
 * store is refused. If any store fails, the ones already claimed are released again.
 */
export async function initPool(options: InitOptions): Promise<Manifest> {
  const blockSizeBytes = options.blockSizeBytes ?? DEFAULT_BLOCK_SIZE_BYTES;
  const geometryProblem = checkGeometry(options.k, options.m, blockSizeBytes);
  if (geometryProblem) throw usageError(geometryProblem);
  const storePaths = options.storePaths.map((p) => path.resolve(p));
  if (storePaths.length < options.k + options.m) {
    throw usageError(`${storePaths.length} stores given, but k + m = ${options.k + options.m} are needed (one block of each data set per store)`);
  }
  await checkDistinct(storePaths);
  for (const storePath of storePaths) await checkUsableDirectory(storePath);

  const poolId = newId();
  const manifest: Manifest = {
    poolId,
    name: options.name ?? `pool-${poolId.slice(0, 8)}`,
    k: options.k,
    m: options.m,
    blockSizeBytes,
    epoch: 1,
    responsibilityVersion: RESPONSIBILITY_VERSION,
    stores: storePaths.map((p, slot) => ({ slot, storeId: newId(), path: p })),
    createdAt: new Date().toISOString(),
  };
  const claimed: string[] = [];
  try {
    for (const store of manifest.stores) {
      try {
        await publishExclusively(store.path, path.join(store.path, STORE_IDENTITY_FILE), encodeStoreIdentity({ poolId, storeId: store.storeId, slot: store.slot }));
      } catch (error) {
        if (errnoCode(error) === 'EEXIST') throw usageError(`${store.path} already holds a rain store; use another directory or the existing pool`);
        throw ioError(`cannot write to ${store.path}: ${describeError(error)}`);
      }
      claimed.push(store.path);
      await writeManifest(store.path, manifest);
    }
  } catch (error) {
    for (const storePath of claimed) {
      await fs.rm(path.join(storePath, MANIFEST_FILE), { force: true });
      await fs.rm(path.join(storePath, STORE_IDENTITY_FILE), { force: true });
    }
    throw error;
  }
  await registerPool({ name: manifest.name, poolId, storePaths }).catch(() => undefined);
  return manifest;
}

async function checkDistinct(storePaths: readonly string[]): Promise<void> {
  const seen = new Map<string, string>();
  for (const p of storePaths) {
    const real = await fs.realpath(p).catch(() => p);
    const earlier = seen.get(real);
    if (earlier) throw usageError(`${p} and ${earlier} are the same directory; each store must be a different directory`);
    seen.set(real, p);
  }
}

async function checkUsableDirectory(storePath: string): Promise<void> {
  const stat = await fs.stat(storePath).catch(() => undefined);
  if (!stat) throw usageError(`${storePath} does not exist; create the directory (on the disk it should use) first`);
  if (!stat.isDirectory()) throw usageError(`${storePath} is not a directory`);
  for (const marker of [STORE_IDENTITY_FILE, MANIFEST_FILE]) {
    if (await fs.stat(path.join(storePath, marker)).then(() => true, () => false)) {
      throw usageError(`${storePath} already holds a rain store; use another directory or the existing pool`);
    }
  }
  // Root ignores permission bits, so probe with a real write (this also catches read-only mounts).
  // The probe goes straight into the directory and is removed, so a refused init leaves nothing.
  const probe = path.join(storePath, `.rain-probe-${process.pid}`);
  try {
    await fs.writeFile(probe, 'rain', { flag: 'wx' });
    await fs.rm(probe);
  } catch (error) {
    await fs.rm(probe, { force: true }).catch(() => undefined);
    throw ioError(`${storePath} is not writable (${errnoCode(error) ?? describeError(error)}); fix its permissions or mount`);
  }
}
