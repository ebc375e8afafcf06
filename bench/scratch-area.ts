import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { onCleanup } from './cleanup.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

/**
 * One directory the bench writes into: a tmpfs mounted for it alone, or a plain directory. Each
 * store directory is its own tmpfs because SnapRAID refuses two data disks on one device, and
 * rain runs on the very same mounts so the two are compared on equal storage.
 */
export interface ScratchArea {
  readonly dir: string;
  readonly kind: 'tmpfs' | 'dir';
  /** Changes a tmpfs's size limit (a limit, not a reservation); nothing for a plain directory. */
  resize(bytes: number): Promise<void>;
  /** Removes everything inside, keeping the directory (a mount point cannot be removed). */
  empty(): Promise<void>;
  /** Unmounts the tmpfs (its memory is freed; also done at exit); a plain directory stays. */
  release(): Promise<void>;
}

export async function emptyDirectory(dir: string): Promise<void> {
  for (const entry of await fs.readdir(dir).catch(() => [] as string[])) {
    await fs.rm(path.join(dir, entry), { recursive: true, force: true });
  }
}

/** umount, and if the mount is still busy a second later (a process lingering), a lazy umount. */
export async function unmount(dir: string): Promise<void> {
  await run('umount', [dir]).catch(async () => {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await run('umount', ['-l', dir]);
  });
}

function tmpfsSizeOption(bytes: number): string {
  return `size=${Math.max(16, Math.ceil(bytes / MiB))}m`;
}

export async function mountTmpfs(dir: string, bytes: number): Promise<ScratchArea> {
  await fs.mkdir(dir, { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', `${tmpfsSizeOption(bytes)},mode=0755`, 'tmpfs', dir]);
  let mounted = true;
  const forget = onCleanup(`umount ${dir}`, async () => {
    if (mounted) await unmount(dir);
    mounted = false;
  });
  return {
    dir,
    kind: 'tmpfs',
    resize: async (newBytes) => {
      await run('mount', ['-o', `remount,${tmpfsSizeOption(newBytes)}`, dir]);
    },
    empty: () => emptyDirectory(dir),
    release: async () => {
      forget();
      if (mounted) await unmount(dir);
      mounted = false;
    },
  };
}

export async function plainArea(dir: string): Promise<ScratchArea> {
  await fs.mkdir(dir, { recursive: true });
  return {
    dir,
    kind: 'dir',
    resize: async () => undefined,
    empty: () => emptyDirectory(dir),
    // The scratch directory's own cleanup removes it (unless --keep).
    release: async () => undefined,
  };
}

/** Mount points left by an earlier bench that was killed (SIGKILL skips every cleanup). */
export function leftoverBenchMounts(): string[] {
  try {
    return readFileSync('/proc/mounts', 'utf8').split('\n')
      .map((line) => line.split(' ')[1] ?? '')
      .filter((mountPoint) => mountPoint.includes('/rain-bench-'));
  } catch {
    return [];
  }
}

/** MemAvailable from /proc/meminfo: what can be filled (tmpfs is RAM) without pushing others out. */
export function availableMemoryBytes(): number | undefined {
  try {
    const match = /^MemAvailable:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export async function freeDiskBytes(dir: string): Promise<number | undefined> {
  try {
    const stats = await fs.statfs(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}
