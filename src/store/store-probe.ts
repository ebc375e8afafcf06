import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../rain-error.js';
import { MANIFEST_FILE, STORE_IDENTITY_FILE } from './store-layout.js';
import { remotable } from './store-router.js';

export interface DirectoryProbe {
  /** errno of stat() when the directory cannot be looked at (ENOENT: it is not there). */
  readonly error?: string;
  readonly isDirectory: boolean;
  /** The directory already holds a store identity or a manifest. */
  readonly holdsStore: boolean;
  /** By a real write when asked (root ignores permission bits; read-only mounts say EROFS), else by access(). */
  readonly writable: boolean;
  readonly writeError?: string;
  readonly realPath?: string;
  readonly totalBytes?: number;
  readonly freeBytes?: number;
}

/** What init, status, rebuild and open need to know about a store directory, looked at where it is. */
async function probeDirectoryHere(storePath: string, options: { writeProbe: boolean }): Promise<DirectoryProbe> {
  const stat = await fs.stat(storePath).catch((error: unknown) => errnoCode(error) ?? 'EIO');
  if (typeof stat === 'string') return { error: stat, isDirectory: false, holdsStore: false, writable: false };
  if (!stat.isDirectory()) return { isDirectory: false, holdsStore: false, writable: false };
  let holdsStore = false;
  for (const marker of [STORE_IDENTITY_FILE, MANIFEST_FILE]) {
    if (await fs.stat(path.join(storePath, marker)).then(() => true, () => false)) holdsStore = true;
  }
  let writable: boolean;
  let writeError: string | undefined;
  if (options.writeProbe) {
    // The probe goes straight into the directory and is removed, so a refused init leaves nothing.
    const probe = path.join(storePath, `.rain-probe-${process.pid}`);
    try {
      await fs.writeFile(probe, 'rain', { flag: 'wx' });
      await fs.rm(probe);
      writable = true;
    } catch (error) {
      await fs.rm(probe, { force: true }).catch(() => undefined);
      writable = false;
      writeError = errnoCode(error) ?? String(error);
    }
  } else {
    writable = await fs.access(storePath, fs.constants.W_OK).then(() => true, (error: unknown) => {
      writeError = errnoCode(error);
      return false;
    });
  }
  const space = await fs.statfs(storePath).catch(() => undefined);
  return {
    isDirectory: true, holdsStore, writable, writeError,
    realPath: await fs.realpath(storePath).catch(() => storePath),
    totalBytes: space ? space.blocks * space.bsize : undefined,
    freeBytes: space ? space.bavail * space.bsize : undefined,
  };
}

/** Undoes an `init` that failed part-way: only the two files it wrote, nothing else. */
async function removeStoreMarkersHere(storePath: string): Promise<void> {
  await fs.rm(path.join(storePath, MANIFEST_FILE), { force: true });
  await fs.rm(path.join(storePath, STORE_IDENTITY_FILE), { force: true });
}

// Reachable from any process and host (store-router.ts); the implementations above run where the store is.
export const probeDirectory = remotable('probeDirectory', probeDirectoryHere);
export const removeStoreMarkers = remotable('removeStoreMarkers', removeStoreMarkersHere);
