import fs from 'node:fs';

/**
 * Positional reads and writes on raw descriptors, done in the calling thread when small and in
 * libuv's thread pool when large. A hand-off to the pool and back (two futex wakes between
 * threads) costs more CPU on this machine kind than a page-cache copy of a few hundred
 * KiB; a large copy goes to the pool so it overlaps the caller's next piece of work (encoding,
 * hashing). Small-file workloads spent most of their CPU on those hand-offs (docs/PERFORMANCE.md).
 */
export const INLINE_IO_MAX_BYTES = 256 * 1024;

export function readAt(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return inlineOrPooled(length, () => fs.readSync(fd, buffer, offset, length, position), (done) => fs.read(fd, buffer, offset, length, position, done));
}

export function readvAt(fd: number, buffers: readonly Uint8Array[], position: number): Promise<number> {
  return inlineOrPooled(totalBytes(buffers), () => fs.readvSync(fd, [...buffers], position), (done) => fs.readv(fd, [...buffers], position, done));
}

export function writeAt(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return inlineOrPooled(length, () => fs.writeSync(fd, buffer, offset, length, position), (done) => fs.write(fd, buffer, offset, length, position, done));
}

export function writevAt(fd: number, buffers: readonly Uint8Array[], position: number): Promise<number> {
  return inlineOrPooled(totalBytes(buffers), () => fs.writevSync(fd, [...buffers], position), (done) => fs.writev(fd, [...buffers], position, done));
}

/**
 * Reads until `length` bytes arrived or the file ended (a read may return short); returns how
 * many arrived, so the caller decides what a short file means.
 */
export async function readFullyAt(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  let filled = 0;
  while (filled < length) {
    const bytesRead = await readAt(fd, buffer, offset + filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** Writes all `length` bytes (a write may return short, e.g. just before ENOSPC). */
export async function writeFullyAt(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<void> {
  let written = 0;
  while (written < length) {
    const n = await writeAt(fd, buffer, offset + written, length - written, position + written);
    if (n <= 0) throw new Error('write made no progress');
    written += n;
  }
}

/** The call in this thread when `bytes` is small, else its callback form in the pool; both settle as a promise. */
function inlineOrPooled(
  bytes: number, inline: () => number, pooled: (done: (error: NodeJS.ErrnoException | null, result: number) => void) => void,
): Promise<number> {
  if (bytes > INLINE_IO_MAX_BYTES) {
    return new Promise((resolve, reject) => pooled((error, result) => (error ? reject(error) : resolve(result))));
  }
  try {
    return Promise.resolve(inline());
  } catch (error) {
    return Promise.reject(error);
  }
}

function totalBytes(buffers: readonly Uint8Array[]): number {
  let sum = 0;
  for (const b of buffers) sum += b.length;
  return sum;
}
