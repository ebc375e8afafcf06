import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../rain-error.js';
import { MANIFEST_FILE, STORE_IDENTITY_FILE } from './store-layout.js';

export interface DirectoryProbe {
  /** errno of stat() when the directory cannot be looked at (ENOENT: it is not there). */
  readonly error?: string;
  readonly isDirectory: boolean;
  /** The directory already holds a store identity or a manifest. */
  readonly holdsStore: boolean;
  /** By a real write when asked (root ignores permission bits; read-only mounts say EROFS), else by access(). */
  readonly writable: boolean;
  readonly writeError?: string;
  /** What a write probe found the file system not to honour (exclusive create, link, rename, fsync). */
  readonly mountProblems: readonly string[];
  readonly realPath?: string;
  readonly totalBytes?: number;
  readonly freeBytes?: number;
  /** stat().dev: two directories with the same one are on one file system. */
  readonly deviceId?: number;
}

/** What init, status, rebuild and open need to know about a store directory, looked at where it is. */
export async function probeDirectory(storePath: string, options: { writeProbe: boolean }): Promise<DirectoryProbe> {
  const stat = await fs.stat(storePath).catch((error: unknown) => errnoCode(error) ?? 'EIO');
  if (typeof stat === 'string') return { error: stat, isDirectory: false, holdsStore: false, writable: false, mountProblems: [] };
  if (!stat.isDirectory()) return { isDirectory: false, holdsStore: false, writable: false, mountProblems: [] };
  let holdsStore = false;
  for (const marker of [STORE_IDENTITY_FILE, MANIFEST_FILE]) {
    if (await fs.stat(path.join(storePath, marker)).then(() => true, () => false)) holdsStore = true;
  }
  let writable: boolean;
  let writeError: string | undefined;
  let mountProblems: string[] = [];
  if (options.writeProbe) {
    // The probe goes straight into the directory and is removed, so a refused init leaves nothing.
    const probe = path.join(storePath, `.rain-probe-${process.pid}`);
    try {
      await fs.writeFile(probe, 'rain', { flag: 'wx' });
      writable = true;
      mountProblems = await checkFileSemantics(storePath, probe);
      await fs.rm(probe);
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
    isDirectory: true, holdsStore, writable, writeError, mountProblems,
    realPath: await fs.realpath(storePath).catch(() => storePath),
    totalBytes: space ? space.blocks * space.bsize : undefined,
    freeBytes: space ? space.bavail * space.bsize : undefined,
    deviceId: stat.dev,
  };
}

/**
 * rain's crash safety rests on four things a file system must do (docs/USER-GUIDE.md, "Mounts"):
 * refuse an exclusive create of an existing name, refuse a hard link onto an existing name (epoch
 * claims), replace a file atomically by rename, and make data durable on fsync. Local disks do;
 * some network mounts fake one of them. Each is tried on scratch files next to `probe`.
 */
async function checkFileSemantics(storePath: string, probe: string): Promise<string[]> {
  const problems: string[] = [];
  const linked = `${probe}.link`;
  const replacement = `${probe}.new`;
  try {
    const again = await fs.open(probe, 'wx').then(async (h) => { await h.close(); return 'created'; }, (e: unknown) => errnoCode(e) ?? 'error');
    if (again !== 'EEXIST') problems.push(`exclusive create of an existing file did not fail with EEXIST (${again})`);
    const handle = await fs.open(probe, 'r+');
    try {
      await handle.sync();
    } catch (error) {
      problems.push(`fsync fails (${errnoCode(error) ?? String(error)})`);
    } finally {
      await handle.close();
    }
    const firstLink = await fs.link(probe, linked).then(() => 'ok', (e: unknown) => errnoCode(e) ?? 'error');
    if (firstLink !== 'ok') problems.push(`hard links are not supported (${firstLink}); epoch claims need them`);
    else {
      const secondLink = await fs.link(probe, linked).then(() => 'ok', (e: unknown) => errnoCode(e) ?? 'error');
      if (secondLink !== 'EEXIST') problems.push(`a hard link onto an existing name did not fail with EEXIST (${secondLink})`);
    }
    await fs.writeFile(replacement, 'replaced');
    const renamed = await fs.rename(replacement, linked).then(() => 'ok', (e: unknown) => errnoCode(e) ?? 'error');
    if (renamed !== 'ok') problems.push(`rename over an existing file fails (${renamed})`);
    else if (await fs.readFile(linked, 'utf8').catch(() => '') !== 'replaced') problems.push('rename over an existing file did not replace it');
    const dir = await fs.open(storePath, 'r');
    try {
      await dir.sync();
    } catch (error) {
      problems.push(`directory fsync fails (${errnoCode(error) ?? String(error)})`);
    } finally {
      await dir.close();
    }
  } finally {
    await fs.rm(linked, { force: true });
    await fs.rm(replacement, { force: true });
  }
  return problems;
}

/** Undoes an `init` that failed part-way: only the two files it wrote, nothing else. */
export async function removeStoreMarkers(storePath: string): Promise<void> {
  await fs.rm(path.join(storePath, MANIFEST_FILE), { force: true });
  await fs.rm(path.join(storePath, STORE_IDENTITY_FILE), { force: true });
}

