import fs from 'node:fs/promises';
import path from 'node:path';
import { MEMORY_HEADROOM_BYTES } from './bench-layout.js';
import { availableMemoryBytes } from './scratch-area.js';

const CHUNK = 4 * 1024 * 1024;

/**
 * On this VM (Firecracker, free page reporting) memory the guest freed a few minutes ago has
 * gone back to the host, and the first write to such a page costs a host fault: a tmpfs fills
 * at ~0.5-0.8 GB/s the first time and at ~2.5 GB/s again right after (measured with 8 GiB).
 * Which phase happens to get fresh pages and which reused ones was luck, and it moved a floor
 * by 4x. So before every timed phase the bench writes, and deletes, a file as large as the
 * phase is expected to fill, on a tmpfs of its own: the phase then finds recently used pages,
 * as it would in any machine's RAM. (fallocate does not do it: it does not touch the pages.)
 */
let warmDir: string | undefined;
let warmBytes = 0;
let buffer: Buffer | undefined;

/** dir: a tmpfs for the warm-up file (undefined: no warm-up, as on a plain disk). */
export function configureWarmUp(dir: string | undefined): void {
  warmDir = dir;
}

/** How much the phases that follow are expected to fill (tmpfs data plus process memory). */
export function setWarmUpBytes(bytes: number): void {
  warmBytes = bytes;
}

export async function warmUpMemory(): Promise<void> {
  if (!warmDir || warmBytes <= 0) return;
  const available = availableMemoryBytes();
  const bytes = Math.min(warmBytes, available === undefined ? warmBytes : available - MEMORY_HEADROOM_BYTES);
  if (bytes <= 0) return;
  buffer ??= Buffer.alloc(CHUNK, 0x5a);
  const file = path.join(warmDir, 'warm-up');
  const handle = await fs.open(file, 'w');
  try {
    for (let done = 0; done < bytes; done += CHUNK) await handle.write(buffer, 0, Math.min(CHUNK, bytes - done), done);
  } finally {
    await handle.close();
    await fs.rm(file, { force: true });
  }
}
