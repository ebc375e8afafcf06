import { randomBytes } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { TMP_DIR } from './store-layout.js';
import { fsyncFd } from './fsync-policy.js';
import { writeFullyAt, writevAt } from './inline-io.js';
import { remotable } from './store-router.js';

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

/** `storage` names where `dir` lies, for fsync-policy.ts (a store's root); without it the device is looked up. */
export async function fsyncDirectory(dir: string, storage?: string): Promise<void> {
  const fd = fsSync.openSync(dir, 'r');
  try {
    await fsyncFd(fd, storage);
  } finally {
    fsSync.closeSync(fd);
  }
}

/**
 * mkdir -p *below* a store's root, recording each directory it created (and its parent) for a
 * later fsync. It never creates the root itself: a store whose directory vanished (a disk
 * unmounted, a directory removed) must fail, not be silently re-created on the wrong disk.
 */
export function ensureDirectory(storePath: string, dir: string, sync: DirectorySync): void {
  // Directories this process already made or saw are not re-checked for every block: a failed
  // mkdir costs an exception and a syscall each time. If one vanishes since, the open below it
  // fails with ENOENT, so nothing is ever re-created outside the store.
  if (knownDirectories.has(dir)) return;
  const relative = path.relative(storePath, dir);
  if (relative.startsWith('..') || path.isAbsolute(relative)) throw new Error(`${dir} is outside the store ${storePath}`);
  let current = storePath;
  for (const segment of relative.split(path.sep).filter((s) => s !== '')) {
    const parent = current;
    current = path.join(current, segment);
    // Known parents (blocks/, blocks/HH/) are not re-made for every new file's directory.
    if (knownDirectories.has(current)) continue;
    try {
      fsSync.mkdirSync(current);
      sync.add(current, storePath);
      sync.add(parent, storePath);
      if (current !== dir) knownDirectories.add(current);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'EEXIST') {
        knownDirectories.add(current);
        continue;
      }
      if (code === 'ENOENT' && parent === storePath) throw Object.assign(new Error(`store directory ${storePath} is gone`), { code: 'ENOENT' });
      throw error;
    }
  }
  if (knownDirectories.size > 100_000) knownDirectories.clear();
  knownDirectories.add(dir);
}

const knownDirectories = new Set<string>();

/**
 * Unique per process without a random draw per file: a random prefix chosen once, then a counter.
 * The prefix keeps names unique across a pid reused after a crash left temp files behind.
 */
const tempPrefix = `${process.pid}-${randomBytes(6).toString('hex')}`;
let tempCounter = 0;

export function tempPathIn(storePath: string): string {
  return path.join(storePath, TMP_DIR, `${tempPrefix}-${(tempCounter++).toString(36)}.tmp`);
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
    fsSync.renameSync(tempPath, finalPath);
  } catch (error) {
    fsSync.rmSync(tempPath, { force: true });
    throw error;
  }
  sync.add(path.dirname(finalPath), storePath);
}

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
 */
async function removeStaleTempFilesHere(storePath: string, olderThanMs: number): Promise<number> {
  const dir = path.join(storePath, TMP_DIR);
  let removed = 0;
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const file = path.join(dir, name);
    const stat = await fs.stat(file).catch(() => undefined);
    if (stat?.isFile() && Date.now() - stat.mtimeMs > olderThanMs) {
      await fs.rm(file, { force: true });
      removed++;
    }
  }
  return removed;
}

// Reachable from any process and host (store-router.ts); the implementations above run where the store is.
export const removeStaleTempFiles = remotable('removeStaleTempFiles', removeStaleTempFilesHere);
