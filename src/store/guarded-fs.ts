import fs from 'node:fs';
import path from 'node:path';
import { errnoCode, storeFault } from '../rain-error.js';
import { refuseIfStopped } from './stopping.js';

/**
 * File system calls inside a store that trust nothing they find there (docs/FORMAT.md §1,
 * "What rain finds in a store"). A store is a directory other programs, people and failing disks
 * can put anything into: a FIFO where a block should be (an open() for reading would wait for a
 * writer forever), a device, a symbolic link to somewhere else (writing or deleting through it
 * would touch files outside the store), a directory where a file belongs. So:
 *  - files are opened with O_NOFOLLOW | O_NONBLOCK | O_NOCTTY: a final symlink fails (ELOOP), a
 *    FIFO opens at once and reads as empty, a terminal never becomes ours;
 *  - whole-file reads check with fstat that they got a regular file, and read at most a bound,
 *    whatever the file's size claims;
 *  - a directory rain writes into or deletes from is checked with lstat (once per process) to be a
 *    real directory, not a link or a file, before anything is created or removed in it.
 * What is wrong is reported as a store fault naming the entry and what it is; `rain check` moves
 * such entries aside into quarantine/ (store-layout-check.ts) and repairs what they displaced.
 */
export const READ_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY;

/** Opens a file inside a store for reading; never follows a final symlink, never waits on a FIFO. */
export function openForReading(file: string): number {
  return fs.openSync(file, READ_FLAGS);
}

/** What an entry is, in words for a message. */
export function kindOf(stat: fs.Stats | fs.BigIntStats | fs.Dirent): string {
  if (stat.isFile()) return 'a regular file';
  if (stat.isDirectory()) return 'a directory';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  return 'an unknown kind of entry';
}

/** A short name of an entry for messages: its path below the store root. */
export function inStore(storePath: string, entry: string): string {
  const relative = path.relative(storePath, entry);
  return relative === '' ? storePath : relative;
}

/**
 * Why an open for reading failed, in words: ELOOP is what O_NOFOLLOW gives for a symlink, ENXIO
 * what a socket gives. Other errors keep their errno.
 */
export function openFailure(storePath: string, file: string, error: unknown): Error {
  const code = errnoCode(error);
  if (code === 'ELOOP') return storeFault('ELOOP', `${inStore(storePath, file)} is a symbolic link (rain never follows links inside a store)`);
  if (code === 'ENXIO') return storeFault('ENXIO', `${inStore(storePath, file)} is a socket or device, not a file`);
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * The whole content of a small file (a manifest, a record, a claim), or undefined when there is
 * none. Refuses anything that is not a regular file and anything longer than `maxBytes`.
 */
export function readSmallFile(storePath: string, file: string, maxBytes: number, scratch?: Buffer): Buffer | undefined {
  let fd: number;
  try {
    fd = openForReading(file);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw openFailure(storePath, file, error);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw storeFault('ENOTREG', `${inStore(storePath, file)} is ${kindOf(stat)}, not a file`);
    // The size is a hint for the first buffer only: the file may grow or lie (procfs, FUSE).
    const chunks: Buffer[] = [];
    let total = 0;
    // A caller that only compares the bytes lends a buffer: the result may then be a view of it.
    const firstBytes = Math.min(Math.max(stat.size + 1, 4096), maxBytes + 1);
    let buffer = scratch !== undefined && scratch.length >= firstBytes ? scratch : Buffer.allocUnsafe(firstBytes);
    for (;;) {
      const bytesRead = fs.readSync(fd, buffer, 0, buffer.length, total);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw storeFault('EFBIG', `${inStore(storePath, file)} is larger than ${maxBytes} bytes (not a rain file)`);
      if (bytesRead === buffer.length) buffer = Buffer.allocUnsafe(Math.min(buffer.length * 2, maxBytes + 1 - total));
      else buffer = buffer.subarray(bytesRead);
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  } finally {
    fs.closeSync(fd);
  }
}

/** The entries of a directory, [] when it does not exist (or a path component is a file). */
export function readdirOrEmpty(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return [];
    throw error;
  }
}

/** readdirOrEmpty with each entry's kind (d_type: no system call per entry on Linux file systems). */
export function readdirTypedOrEmpty(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return [];
    throw error;
  }
}

/**
 * Directories below store roots this process created or found to be real directories. One lstat
 * per directory per process: a command is short, and a directory swapped for a link while a
 * command runs is beyond what a check can promise (the next command sees it).
 */
const verifiedDirectories = new Set<string>();
const VERIFIED_DIRECTORIES_KEPT = 100_000;

function remember(dir: string): void {
  if (verifiedDirectories.size > VERIFIED_DIRECTORIES_KEPT) verifiedDirectories.clear();
  verifiedDirectories.add(dir);
}

/** Forget what was verified about `dir` (it vanished: another command removed an empty block directory). */
export function forgetDirectory(dir: string): void {
  verifiedDirectories.delete(dir);
}

/** The directories from just below the root down to `dir`, refusing one outside the store. */
function segmentsBelow(storePath: string, dir: string): string[] {
  const relative = path.relative(storePath, dir);
  if (relative.startsWith('..') || path.isAbsolute(relative)) throw new Error(`${dir} is outside the store ${storePath}`);
  const out: string[] = [];
  let current = storePath;
  for (const segment of relative.split(path.sep).filter((s) => s !== '')) {
    current = path.join(current, segment);
    out.push(current);
  }
  return out;
}

function notADirectory(storePath: string, dir: string, stat: fs.Stats): Error {
  const what = kindOf(stat);
  return storeFault(stat.isSymbolicLink() ? 'ELOOP' : 'ENOTDIR',
    `${inStore(storePath, dir)} is ${what}, not a directory (rain never ${stat.isSymbolicLink() ? 'follows links' : 'writes through such entries'} inside a store; 'rain check' moves it aside)`);
}

/**
 * mkdir -p *below* a store's root, each directory checked to be a real one; `onCreated` hears of
 * each directory made (and its parent), for a later fsync. It never creates the root itself: a
 * store whose directory vanished (a disk unmounted) must fail, not be re-created on the wrong disk.
 */
export function ensureDirectory(storePath: string, dir: string, onCreated: (dir: string, parent: string) => void): void {
  if (verifiedDirectories.has(dir)) return;
  let parent = storePath;
  for (const current of segmentsBelow(storePath, dir)) {
    if (!verifiedDirectories.has(current)) {
      try {
        fs.mkdirSync(current);
        onCreated(current, parent);
      } catch (error) {
        const code = errnoCode(error);
        if (code === 'ENOENT' && parent === storePath) throw storeFault('ENOENT', `store directory ${storePath} is gone`);
        if (code !== 'EEXIST') throw error;
        const stat = fs.lstatSync(current);
        if (!stat.isDirectory()) throw notADirectory(storePath, current, stat);
      }
      remember(current);
    }
    parent = current;
  }
}

/**
 * Checks that `dir` and every directory between it and the store root are real directories
 * before something is removed in it. False when one of them does not exist (nothing to remove).
 */
export function verifyDirectory(storePath: string, dir: string): boolean {
  if (verifiedDirectories.has(dir)) return true;
  for (const current of segmentsBelow(storePath, dir)) {
    if (verifiedDirectories.has(current)) continue;
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(current);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return false;
      throw error;
    }
    if (!stat.isDirectory()) throw notADirectory(storePath, current, stat);
    remember(current);
  }
  return true;
}

/**
 * Removes one file inside a store: never through a linked directory, never a directory itself
 * (that is an obstacle for `rain check` to move aside). Absent is fine: removal is idempotent.
 */
export function removeFileInStore(storePath: string, file: string): void {
  refuseIfStopped();
  if (!verifyDirectory(storePath, path.dirname(file))) return;
  try {
    fs.unlinkSync(file);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return;
    if (code === 'EISDIR' || code === 'EPERM') {
      const stat = fs.lstatSync(file);
      if (stat.isDirectory()) throw storeFault('EISDIR', `${inStore(storePath, file)} is a directory where rain keeps a file ('rain check' moves it aside)`);
    }
    throw error;
  }
}

/** Removes an empty directory inside a store (a file's block directory); a non-empty or absent one stays. */
export function removeEmptyDirectory(storePath: string, dir: string): void {
  refuseIfStopped();
  if (!verifyDirectory(storePath, path.dirname(dir))) return;
  try {
    fs.rmdirSync(dir);
    forgetDirectory(dir);
  } catch {
    // not empty (a concurrent writer's new blocks), already gone, or not a directory: leave it
  }
}

/** Where `rain check` moves entries that are not what the store layout says belongs there. */
export const QUARANTINE_DIR = 'quarantine';

/**
 * Moves an entry that does not belong (a link, a FIFO, a directory where a file belongs...) into
 * quarantine/, named after where it was, and returns its new place. Nothing is deleted: it may be
 * someone's data; the user decides. The store's rain directories are then free to be used again.
 */
export function quarantine(storePath: string, entry: string): string {
  refuseIfStopped();
  const dir = path.join(storePath, QUARANTINE_DIR);
  ensureDirectory(storePath, dir, () => undefined);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const target = path.join(dir, `${stamp}-${process.pid}-${inStore(storePath, entry).replace(/[/\\]/g, '_')}`);
  fs.renameSync(entry, target);
  for (const known of [...verifiedDirectories]) if (known === entry || known.startsWith(`${entry}${path.sep}`)) verifiedDirectories.delete(known);
  return inStore(storePath, target);
}
