import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { onCleanup } from '../cleanup.js';
import { unmount as unmountDir } from '../scratch-area.js';

const run = promisify(execFile);

export interface MountedDisk {
  readonly name: string;
  readonly dir: string;
  /** 'ext4 on a loop device' (backed by a file on the bench disk) or 'tmpfs' (RAM). */
  readonly kind: 'loop-ext4' | 'tmpfs';
  /** Unmounts now (and removes the image); also happens at exit if never called. */
  readonly unmount: () => Promise<void>;
}

/**
 * For --dir mode (in tmpfs mode SnapRAID gets rain's own tmpfs mounts). SnapRAID refuses two data
 * disks on one device, so each of its disks gets a file system of its own. First choice: an ext4 image file on the bench's own disk, loop-mounted, so SnapRAID's I/O
 * lands on the same physical disk as rain's; if loop devices are not available, a tmpfs (then
 * SnapRAID works from RAM and its numbers say nothing about the disk). Needs root. Every mount is
 * registered for unmounting, also on failure or Ctrl-C.
 */
export async function mountDisk(baseDir: string, name: string, sizeBytes: number): Promise<MountedDisk> {
  const dir = path.join(baseDir, name);
  await fs.mkdir(dir, { recursive: true });
  const image = path.join(baseDir, `${name}.img`);
  const megabytes = Math.ceil(sizeBytes / (1024 * 1024));
  try {
    const handle = await fs.open(image, 'wx');
    await handle.truncate(megabytes * 1024 * 1024);
    await handle.close();
    // No lazy init: the kernel would otherwise zero inode tables in the background during the timings.
    await run('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image]);
    await run('mount', ['-o', 'loop', image, dir]);
    return { name, dir, kind: 'loop-ext4', unmount: registerUnmount(dir, image) };
  } catch {
    await fs.rm(image, { force: true });
  }
  await run('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m`, 'tmpfs', dir]);
  return { name, dir, kind: 'tmpfs', unmount: registerUnmount(dir, undefined) };
}

function registerUnmount(dir: string, image: string | undefined): () => Promise<void> {
  const unmount = async (): Promise<void> => {
    await unmountDir(dir);
    if (image) await fs.rm(image, { force: true });
  };
  const forget = onCleanup(`umount ${dir}`, unmount);
  return async () => {
    forget();
    await unmount();
  };
}
