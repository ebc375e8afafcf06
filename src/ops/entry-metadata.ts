import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import type { EntryMetadata } from '../format/catalog-record.js';
import { fsPath } from '../format/wire-path.js';

/** Owners are restored, and setuid, setgid and sticky kept, only by root: anyone else would hand out their own files with those bits. */
export function restoresAsRoot(): boolean {
  return process.getuid?.() === 0;
}

/** What a file without a recorded mode gets: 0666 less the umask, as a plain create would. */
const DEFAULT_FILE_MODE = 0o666 & ~process.umask();
const SPECIAL_BITS = 0o7000;

function modeToSet(mode: number): number {
  return restoresAsRoot() ? mode : mode & ~SPECIAL_BITS;
}

/**
 * Node sets times from a double of seconds and the result lands on whole microseconds (measured
 * on Node 20, ext4 and tmpfs): the nanoseconds below the microsecond are lost. Aiming at the
 * middle of the microsecond makes the double's rounding land on the recorded one every time (a
 * value at its start was a microsecond short in 8 % of 3,000 random times).
 */
export function secondsOf(mtimeNs: bigint): number {
  const second = 1_000_000_000n;
  let whole = mtimeNs / second;
  let fraction = mtimeNs % second;
  if (fraction < 0n) {
    fraction += second;
    whole -= 1n;
  }
  const micros = fraction / 1000n;
  return Number(whole) + (Number(micros) * 1000 + 500) / 1e9;
}

/**
 * Owner (root only), mode and mtime onto an open regular file, in that order (chown clears
 * setuid). Synchronous: each is one metadata change in the page cache, and a get -r of many small
 * files paid a thread-pool round trip per call (PERFORMANCE.md §5).
 */
export function applyToFd(fd: number, meta: EntryMetadata): void {
  if (restoresAsRoot() && meta.uid !== undefined && meta.gid !== undefined) fsSync.fchownSync(fd, meta.uid, meta.gid);
  fsSync.fchmodSync(fd, meta.mode === undefined ? DEFAULT_FILE_MODE : modeToSet(meta.mode));
  if (meta.mtimeNs !== undefined) {
    const seconds = secondsOf(meta.mtimeNs);
    fsSync.futimesSync(fd, seconds, seconds);
  }
}

/** The same for a directory rain made or merged into (by path: it was checked with lstat to be one). */
export async function applyToDirectory(dir: string, meta: EntryMetadata): Promise<void> {
  const at = fsPath(dir);
  if (restoresAsRoot() && meta.uid !== undefined && meta.gid !== undefined) await fs.lchown(at, meta.uid, meta.gid);
  if (meta.mode !== undefined) await fs.chmod(at, modeToSet(meta.mode));
  if (meta.mtimeNs !== undefined) {
    const seconds = secondsOf(meta.mtimeNs);
    await fs.utimes(at, seconds, seconds);
  }
}

/** Owner and mtime of a symlink itself (lchown, lutimes: never its target); a link has no mode of its own on Linux. */
export async function applyToSymlink(link: string, meta: EntryMetadata): Promise<void> {
  const at = fsPath(link);
  if (restoresAsRoot() && meta.uid !== undefined && meta.gid !== undefined) await fs.lchown(at, meta.uid, meta.gid);
  if (meta.mtimeNs !== undefined) {
    const seconds = secondsOf(meta.mtimeNs);
    await fs.lutimes(at, seconds, seconds);
  }
}
