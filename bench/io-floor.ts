import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fsyncFd } from '../src/store/fsync-policy.js';
import { writeFullyAt } from '../src/store/inline-io.js';
import { writeFully, type SourceFile } from './data-generator.js';

/**
 * The I/O floor: the same bytes rain moves, with plain Node file I/O and no coding, checksums,
 * headers or worker processes. See docs/BENCHMARKS.md ("How the numbers are made").
 *
 * The part-file floors use positional reads and writes on FileHandles into two stripe buffers
 * that are reused, one being filled while the other is written: the cheapest way Node moves
 * these bytes. A ReadStream allocates a fresh buffer per chunk; the informational stream floor
 * (stream-floor.ts) shows what that costs.
 */

export interface FloorLayout {
  /** k + m directories, like rain's stores; the first k hold the data parts. */
  readonly dirs: readonly string[];
  readonly k: number;
  readonly chunkBytes: number;
}

export interface FloorRun {
  readonly bytesRead: number;
  readonly bytesWritten: number;
}

function partPath(dir: string, source: SourceFile): string {
  return path.join(dir, `${source.name}.part`);
}

/**
 * Where the bytes of one source file go: stripe s is chunks s*k .. s*k+k-1 of the file; data
 * part j holds chunk j of every stripe at offset s*chunk; every parity part holds a copy of the
 * stripe's last non-empty chunk at the same offset.
 */
class Stripes {
  readonly count: number;

  constructor(private readonly size: number, private readonly k: number, readonly chunk: number) {
    this.count = Math.ceil(size / (k * chunk));
  }

  /** Bytes of data chunk j (< k) in stripe s: chunk, less at the end of the file, 0 past it. */
  dataLength(s: number, j: number): number {
    return Math.max(0, Math.min(this.chunk, this.size - (s * this.k + j) * this.chunk));
  }

  /** The data chunk a parity part copies in stripe s (the last non-empty one). */
  parityDonor(s: number): number {
    let j = this.k - 1;
    while (j > 0 && this.dataLength(s, j) === 0) j--;
    return j;
  }

  /** Bytes of part j (data or parity) in stripe s. */
  partLength(s: number, j: number): number {
    return j < this.k ? this.dataLength(s, j) : this.dataLength(s, this.parityDonor(s));
  }

  stripeLength(s: number): number {
    return Math.min(this.k * this.chunk, this.size - s * this.k * this.chunk);
  }
}

export async function readFully(handle: fs.FileHandle, buffer: Buffer, offset: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, offset + done, length - done, position + done);
    if (bytesRead === 0) throw new Error('file ended early');
    done += bytesRead;
  }
}

/** Stripe s+1 is read into one buffer while stripe s is written from the other. */
async function pipelined(
  count: number, bufferBytes: number, read: (s: number, buffer: Buffer) => Promise<void>, write: (s: number, buffer: Buffer) => Promise<void>,
): Promise<void> {
  const buffers = [Buffer.allocUnsafe(bufferBytes), Buffer.allocUnsafe(bufferBytes)];
  let reading = count > 0 ? read(0, buffers[0]) : undefined;
  for (let s = 0; s < count; s++) {
    await reading;
    reading = s + 1 < count ? read(s + 1, buffers[(s + 1) % 2]) : undefined;
    await write(s, buffers[s % 2]);
  }
}

async function openAll(paths: readonly string[], flags: string): Promise<fs.FileHandle[]> {
  const handles: fs.FileHandle[] = [];
  try {
    for (const p of paths) handles.push(await fs.open(p, flags));
  } catch (error) {
    await closeAll(handles);
    throw error;
  }
  return handles;
}

async function closeAll(handles: readonly (fs.FileHandle | undefined)[]): Promise<void> {
  await Promise.all(handles.map((h) => h?.close().catch(() => undefined)));
}

/**
 * Put floor: per source file, read it sequentially a stripe (k chunks) at a time; chunk j of
 * the stripe goes to data part j, and the stripe's last chunk is written again to each of the m
 * parity parts (copied, nothing computed). One file per directory per source file, each
 * fsynced once at the end. Total written = size * (k+m) / k, as rain writes (less its block
 * headers and catalog records).
 */
export async function writeFloor(sources: readonly SourceFile[], layout: FloorLayout): Promise<FloorRun> {
  const { k, chunkBytes, dirs } = layout;
  let bytesRead = 0;
  let bytesWritten = 0;
  for (const source of sources) {
    const stripes = new Stripes(source.sizeBytes, k, chunkBytes);
    const input = await fs.open(source.path, 'r');
    let parts: fs.FileHandle[] = [];
    try {
      parts = await openAll(dirs.map((dir) => partPath(dir, source)), 'wx');
      await pipelined(stripes.count, k * chunkBytes, async (s, buffer) => {
        const length = stripes.stripeLength(s);
        await readFully(input, buffer, 0, length, s * k * chunkBytes);
        bytesRead += length;
      }, async (s, buffer) => {
        await Promise.all(parts.map(async (part, j) => {
          const from = (j < k ? j : stripes.parityDonor(s)) * chunkBytes;
          const length = stripes.partLength(s, j);
          if (length === 0) return;
          await writeFully(part, buffer.subarray(from, from + length), s * chunkBytes);
          bytesWritten += length;
        }));
      });
      await Promise.all(parts.map((part) => part.sync()));
    } finally {
      await closeAll([input, ...parts]);
    }
  }
  return { bytesRead, bytesWritten };
}

/**
 * Reads, stripe by stripe, the chunks of the parts named by `which` (indices into layout.dirs)
 * into one reused buffer (part i's chunk at slot i), and hands each stripe to `use`.
 */
async function readParts(
  source: SourceFile, layout: FloorLayout, which: readonly number[], use: (s: number, buffer: Buffer, stripes: Stripes) => Promise<number>,
): Promise<FloorRun> {
  const { k, chunkBytes, dirs } = layout;
  const stripes = new Stripes(source.sizeBytes, k, chunkBytes);
  let bytesRead = 0;
  let bytesWritten = 0;
  const handles = await openAll(which.map((j) => partPath(dirs[j], source)), 'r');
  try {
    await pipelined(stripes.count, dirs.length * chunkBytes, async (s, buffer) => {
      await Promise.all(which.map(async (j, i) => {
        const length = stripes.partLength(s, j);
        if (length === 0) return;
        await readFully(handles[i], buffer, j * chunkBytes, length, s * chunkBytes);
        bytesRead += length;
      }));
    }, async (s, buffer) => {
      bytesWritten += await use(s, buffer, stripes);
    });
  } finally {
    await closeAll(handles);
  }
  return { bytesRead, bytesWritten };
}

function sum(runs: readonly FloorRun[]): FloorRun {
  return runs.reduce((a, b) => ({ bytesRead: a.bytesRead + b.bytesRead, bytesWritten: a.bytesWritten + b.bytesWritten }), { bytesRead: 0, bytesWritten: 0 });
}

/**
 * Get floor: the k data parts of each source file are read (the user bytes, as rain's healthy
 * get reads only the k data blocks of each data set), and with `outDir` each stripe is written
 * at its place in one output file, fsynced at the end, as `rain get` does; without it the bytes
 * are dropped (the read-only floor).
 */
export async function readFloor(sources: readonly SourceFile[], layout: FloorLayout, outDir: string | undefined): Promise<FloorRun> {
  const runs: FloorRun[] = [];
  const data = Array.from({ length: layout.k }, (_, j) => j);
  for (const source of sources) {
    const out = outDir ? await fs.open(path.join(outDir, source.name), 'wx') : undefined;
    try {
      runs.push(await readParts(source, layout, data, async (s, buffer, stripes) => {
        if (!out) return 0;
        // The k data chunks sit side by side in the buffer: the stripe is one write.
        const length = stripes.stripeLength(s);
        await writeFully(out, buffer.subarray(0, length), s * layout.k * layout.chunkBytes);
        return length;
      }));
      await out?.sync();
    } finally {
      await out?.close();
    }
  }
  return sum(runs);
}

/**
 * Verify floor: every part of every source file, data and parity, read and dropped: the bytes
 * `rain verify` must read, with nothing checked.
 */
export async function readAllPartsFloor(sources: readonly SourceFile[], layout: FloorLayout): Promise<FloorRun> {
  const all = layout.dirs.map((_, j) => j);
  const runs: FloorRun[] = [];
  for (const source of sources) runs.push(await readParts(source, layout, all, async () => 0));
  return sum(runs);
}

/**
 * Rebuild floor: the lost directory's part is deleted (as rain's store is emptied), the parts of
 * the k+m-1 surviving directories read (rain's rebuild reads the surviving blocks of every data
 * set), and the lost part written again, each chunk copied from a surviving one (nothing is
 * computed), fsynced at the end.
 */
export async function rebuildFloor(sources: readonly SourceFile[], layout: FloorLayout, lost: number): Promise<FloorRun> {
  const survivors = layout.dirs.map((_, j) => j).filter((j) => j !== lost);
  const runs: FloorRun[] = [];
  for (const source of sources) {
    const lostPath = partPath(layout.dirs[lost], source);
    await fs.rm(lostPath);
    const out = await fs.open(lostPath, 'wx');
    try {
      runs.push(await readParts(source, layout, survivors, async (s, buffer, stripes) => {
        const length = stripes.partLength(s, lost);
        if (length === 0) return 0;
        // Only the count matters: past a shorter donor's end the slot holds older bytes.
        const donor = survivors[0];
        await writeFully(out, buffer.subarray(donor * layout.chunkBytes, donor * layout.chunkBytes + length), s * layout.chunkBytes);
        return length;
      }));
      await out.sync();
    } finally {
      await out.close();
    }
  }
  return sum(runs);
}

/**
 * One small file written and fsynced the way rain writes one: open, close and a small write in
 * this thread, a large write and the fsync where store/inline-io.ts and store/fsync-policy.ts
 * put rain's own, so the floor does not pay thread hand-offs rain no longer pays. `storage` is
 * the directory the file's fsync cost is learned for (a store's, as rain keys it).
 */
export async function writeDurably(filePath: string, bytes: Uint8Array, storage: string): Promise<void> {
  const fd = fsSync.openSync(filePath, 'wx');
  try {
    await writeFullyAt(fd, bytes, 0, bytes.length, 0);
    await fsyncFd(fd, storage);
  } finally {
    fsSync.closeSync(fd);
  }
}
