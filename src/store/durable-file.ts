import { randomBytes } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../rain-error.js';
import { ensureDirectory as guardedEnsureDirectory, forgetDirectory, readdirTypedOrEmpty, removeFileInStore, verifyDirectory } from './guarded-fs.js';
import { TMP_DIR } from './store-layout.js';
import { fsyncFd } from './fsync-policy.js';
import { writeFullyAt, writevAt } from './inline-io.js';
import { refuseIfStopped } from './stopping.js';
import { fsPath } from '../format/wire-path.js';

/**
 * The only way rain puts a file in a store: write under tmp/, fsync the file, rename into place.
 * The rename is atomic, so a reader sees the old file or the whole new one, never a torn one.
 * Directory fsyncs make the renames themselves durable; they are collected in a DirectorySync so
 * a worker writing hundreds of blocks syncs each directory once, before the caller reports success.
 */
export class DirectorySync {
  /** Directory -> the store it lies in (fsync-policy.ts learns fsync cost per store), if known. */
  private readonly pending = new Map<string, string | undefined>();

  add(dir: string, storePath?: string): void {
    this.pending.set(dir, storePath ?? this.pending.get(dir));
  }

  /**
   * Syncs every pending directory, many at once: the file system then commits them together
   * (one journal commit can cover all) instead of one commit after another. Their order does not
   * matter: nothing depends on any of these entries until flush has returned for all of them.
   */
  async flush(): Promise<void> {
    const dirs = [...this.pending];
    this.pending.clear();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < dirs.length) {
        const [dir, storePath] = dirs[next++];
        await fsyncDirectory(dir, storePath);
      }
    };
    await Promise.all(Array.from({ length: Math.min(DIRECTORY_SYNCS_AT_ONCE, dirs.length) }, lane));
  }
}

/** Enough parallel fsyncs for the file system to group them; few enough to bound open handles. */
const DIRECTORY_SYNCS_AT_ONCE = 16;

/**
 * `storage` names where `dir` lies, for fsync-policy.ts (a store's root); without it the device is
 * looked up. A directory inside a store that is gone by now was removed by another command (an rm
 * or a check removes a file's block directory once it is empty), together with what this process
 * renamed into it: that command's decision stands, there is nothing left to make durable. A store
 * root that is gone is a failure.
 */
export async function fsyncDirectory(dir: string, storage?: string): Promise<void> {
  let fd: number;
  try {
    // A wire path (format/wire-path.ts): a restored directory's name may be any bytes.
    fd = fsSync.openSync(fsPath(dir), 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' && storage !== undefined && dir !== storage && fsSync.existsSync(storage)) return;
    throw error;
  }
  try {
    await fsyncFd(fd, storage);
  } finally {
    fsSync.closeSync(fd);
  }
}

/**
 * mkdir -p *below* a store's root (guarded-fs.ts: every directory checked to be a real one),
 * recording each directory it created and its parent for a later fsync. It never creates the root.
 */
export function ensureDirectory(storePath: string, dir: string, sync: DirectorySync): void {
  guardedEnsureDirectory(storePath, dir, (created, parent) => {
    sync.add(created, storePath);
    sync.add(parent, storePath);
  });
}

/**
 * Unique per process without a random draw per file: a random prefix chosen once, then a counter.
 * The prefix keeps names unique across a pid reused after a crash left temp files behind.
 */
const tempPrefix = `${process.pid}-${randomBytes(6).toString('hex')}`;
let tempCounter = 0;
/** Every store this process has named a temp file in: where removeOwnTempFiles looks. */
const storesWithOwnTempFiles = new Set<string>();

export function tempPathIn(storePath: string): string {
  storesWithOwnTempFiles.add(storePath);
  return path.join(storePath, TMP_DIR, `${tempPrefix}-${(tempCounter++).toString(36)}.tmp`);
}

/**
 * Removes this process's own temp files (its prefix) from every store it wrote in, and only
 * those: another rain process's temp files in the same tmp/ are its business. For an
 * interrupted command (and a worker whose coordinator is gone), which will rename none of them
 * into place now. Synchronous, so that nothing of this process runs between it and the exit.
 * Returns how many were removed.
 */
export function removeOwnTempFiles(): number {
  return removeTempFilesNamed([...storesWithOwnTempFiles], [`${tempPrefix}-`]);
}

/**
 * Removes the temp files of processes `pids`, which have exited without removing them (workers
 * killed because they did not stop in time), from `storePaths`. A pid is unique among live
 * processes, so this touches no running command's files; a long dead one's with a reused pid
 * were litter anyway.
 */
export function removeTempFilesOfExited(pids: readonly number[], storePaths: readonly string[]): number {
  return pids.length === 0 ? 0 : removeTempFilesNamed(storePaths, pids.map((pid) => `${pid}-`));
}

function removeTempFilesNamed(storePaths: readonly string[], prefixes: readonly string[]): number {
  let removed = 0;
  for (const storePath of storePaths) {
    const dir = path.join(storePath, TMP_DIR);
    try {
      if (!verifyDirectory(storePath, dir)) continue;
      for (const entry of readdirTypedOrEmpty(dir)) {
        if (!entry.isFile() || !prefixes.some((prefix) => entry.name.startsWith(prefix))) continue;
        fsSync.rmSync(path.join(dir, entry.name), { force: true });
        removed++;
      }
    } catch {
      // A store that fails now (gone, read-only) keeps its temp files for the hourly cleanup.
    }
  }
  return removed;
}

/**
 * Writes `chunks` durably to `finalPath` (inside `storePath`); the rename's directory joins `sync`.
 *
 * open, close, rename, mkdir and small writes run in the calling thread: they are quick calls
 * into the page cache, and a hand-off to libuv's thread pool and back costs more CPU than the call
 * itself on this machine kind (docs/PERFORMANCE.md, small files). The fsync goes where
 * fsync-policy.ts says, and a large payload's write where inline-io.ts says.
 */
export async function writeFileDurably(
  storePath: string,
  finalPath: string,
  chunks: readonly Uint8Array[],
  sync: DirectorySync,
): Promise<void> {
  refuseIfStopped();
  ensureDirectory(storePath, path.join(storePath, TMP_DIR), sync);
  ensureDirectory(storePath, path.dirname(finalPath), sync);
  const tempPath = tempPathIn(storePath);
  const fd = fsSync.openSync(tempPath, 'wx');
  try {
    await writeAll(fd, chunks);
    await fsyncFd(fd, storePath);
  } catch (error) {
    closeQuietly(fd);
    fsSync.rmSync(tempPath, { force: true });
    throw error;
  }
  fsSync.closeSync(fd);
  try {
    renameIntoPlace(storePath, tempPath, finalPath, sync);
  } catch (error) {
    fsSync.rmSync(tempPath, { force: true });
    throw error;
  }
  sync.add(path.dirname(finalPath), storePath);
}

/**
 * rename(temp, final). A file's block directory may vanish between ensureDirectory and the
 * rename: a concurrent rm or check removes block directories once they are empty. The directory
 * is then made again and the rename retried, a few times, instead of failing the write.
 */
function renameIntoPlace(storePath: string, tempPath: string, finalPath: string, sync: DirectorySync): void {
  // The write may have begun before an interruption: it still must not land.
  refuseIfStopped();
  for (let attempt = 1; ; attempt++) {
    try {
      fsSync.renameSync(tempPath, finalPath);
      return;
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT' || attempt === RENAME_ATTEMPTS || !fsSync.existsSync(tempPath)) throw error;
      forgetDirectory(path.dirname(finalPath));
      ensureDirectory(storePath, path.dirname(finalPath), sync);
    }
  }
}

const RENAME_ATTEMPTS = 4;

/**
 * One writev for all chunks (a block's header and payload in one system call). It may stop short
 * (a full disk reports ENOSPC only on the next call), so the rest is written piece by piece.
 */
async function writeAll(fd: number, chunks: readonly Uint8Array[]): Promise<void> {
  const bytesWritten = await writevAt(fd, chunks, 0);
  let position = 0;
  for (const chunk of chunks) {
    const done = Math.min(chunk.length, Math.max(0, bytesWritten - position));
    await writeFullyAt(fd, chunk, done, chunk.length - done, position + done);
    position += chunk.length;
  }
}

function closeQuietly(fd: number): void {
  try {
    fsSync.closeSync(fd);
  } catch {
    // Already failing: the first error is the one to report.
  }
}

/** Convenience for one small file that must be durable before returning. */
export async function writeSmallFileDurably(storePath: string, finalPath: string, text: string): Promise<void> {
  const sync = new DirectorySync();
  await writeFileDurably(storePath, finalPath, [Buffer.from(text, 'utf8')], sync);
  await sync.flush();
}

/**
 * Like writeSmallFileDurably, but fails with EEXIST if `finalPath` already exists: the file is
 * made durable under tmp/ and then hard-linked into place, which is atomic and exclusive, so two
 * processes racing to claim the same name cannot both win. No lock file is involved.
 */
export async function publishExclusively(storePath: string, finalPath: string, text: string): Promise<void> {
  refuseIfStopped();
  const sync = new DirectorySync();
  ensureDirectory(storePath, path.join(storePath, TMP_DIR), sync);
  ensureDirectory(storePath, path.dirname(finalPath), sync);
  const tempPath = tempPathIn(storePath);
  await fs.writeFile(tempPath, text, { flag: 'wx' });
  const handle = await fs.open(tempPath, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    refuseIfStopped();
    await fs.link(tempPath, finalPath);
  } finally {
    await fs.rm(tempPath, { force: true });
  }
  sync.add(path.dirname(finalPath), storePath);
  await sync.flush();
}

/**
 * Temp files of killed commands stay in tmp/ (a rename never happened). One untouched for an
 * hour belongs to nobody alive: every writer renames or rewrites its temp files within seconds.
 * Only regular files directly in a real tmp/ directory are removed (guarded-fs.ts).
 */
export async function removeStaleTempFiles(storePath: string, olderThanMs: number): Promise<number> {
  const dir = path.join(storePath, TMP_DIR);
  if (!verifyDirectory(storePath, dir)) return 0;
  let removed = 0;
  for (const entry of readdirTypedOrEmpty(dir)) {
    if (!entry.isFile()) continue;
    const file = path.join(dir, entry.name);
    const stat = await fs.lstat(file).catch(() => undefined);
    if (stat?.isFile() && Date.now() - stat.mtimeMs > olderThanMs) {
      removeFileInStore(storePath, file);
      removed++;
    }
  }
  return removed;
}

/**
 * Replaces a small file inside a store by rename from tmp/, without fsync: for heartbeats and
 * announcements, which are rewritten every second and mean nothing after a crash.
 */
export function replaceSmallFile(storePath: string, finalPath: string, text: string | Uint8Array): void {
  refuseIfStopped();
  const sync = new DirectorySync();
  ensureDirectory(storePath, path.join(storePath, TMP_DIR), sync);
  ensureDirectory(storePath, path.dirname(finalPath), sync);
  const tempPath = tempPathIn(storePath);
  fsSync.writeFileSync(tempPath, text, { flag: 'wx' });
  try {
    renameIntoPlace(storePath, tempPath, finalPath, sync);
  } catch (error) {
    fsSync.rmSync(tempPath, { force: true });
    throw error;
  }
}

