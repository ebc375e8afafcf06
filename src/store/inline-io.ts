import fs from 'node:fs';

/**
 * Positional reads and writes on raw descriptors, done in the calling thread when small and in
 * libuv's thread pool when large. A hand-off to the pool and back costs ~40-200 us of CPU on this
 * machine kind (two futex wakes between threads), more than a page-cache copy of a few hundred
 * KiB; a large copy goes to the pool so it overlaps the caller's next piece of work (encoding,
 * hashing). Small-file workloads spent most of their CPU on those hand-offs (docs/PERFORMANCE.md).
 */
export const INLINE_IO_MAX_BYTES = 256 * 1024;

export function readAt(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  if (length <= INLINE_IO_MAX_BYTES) return settled(() => fs.readSync(fd, buffer, offset, length, position));
  return new Promise((resolve, reject) => {
    fs.read(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

export function readvAt(fd: number, buffers: readonly Uint8Array[], position: number): Promise<number> {
  if (totalBytes(buffers) <= INLINE_IO_MAX_BYTES) return settled(() => fs.readvSync(fd, [...buffers], position));
  return new Promise((resolve, reject) => {
    fs.readv(fd, [...buffers], position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

export function writeAt(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  if (length <= INLINE_IO_MAX_BYTES) return settled(() => fs.writeSync(fd, buffer, offset, length, position));
  return new Promise((resolve, reject) => {
    fs.write(fd, buffer, offset, length, position, (error, bytesWritten) => (error ? reject(error) : resolve(bytesWritten)));
  });
}

export function writevAt(fd: number, buffers: readonly Uint8Array[], position: number): Promise<number> {
  if (totalBytes(buffers) <= INLINE_IO_MAX_BYTES) return settled(() => fs.writevSync(fd, [...buffers], position));
  return new Promise((resolve, reject) => {
    fs.writev(fd, [...buffers], position, (error, bytesWritten) => (error ? reject(error) : resolve(bytesWritten)));
  });
}

function totalBytes(buffers: readonly Uint8Array[]): number {
  let sum = 0;
  for (const b of buffers) sum += b.length;
  return sum;
}

/** A synchronous call's outcome as a promise, so both paths fail the same way (a rejection). */
function settled<T>(call: () => T): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (error) {
    return Promise.reject(error);
  }
}
