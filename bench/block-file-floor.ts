import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fsyncDirectory } from '../src/store/durable-file.js';
import { readFullyAt } from '../src/store/inline-io.js';
import { writeFully, type SourceFile } from './data-generator.js';
import { readFully, writeDurably, type FloorLayout, type FloorRun } from './io-floor.js';

/*
 * The block-file floors (informational): rain's own file layout, one file per block, with plain
 * Node file I/O and no coding, checksums, headers or worker processes. Their gap to the part-file
 * floors of io-floor.ts is what the layout costs by itself.
 */

/**
 * Block-file floor (informational): rain's file layout without coding or worker processes.
 * Every chunk, and m copies per stripe, becomes its own file: created under tmp/, written,
 * fsynced, renamed into blocks/; each directory fsynced once at the end. 2 * (k+m) stripes are in
 * flight at once, as rain keeps 2 data sets in flight per worker.
 */
export async function writeBlockFileFloor(sources: readonly SourceFile[], layout: FloorLayout): Promise<FloorRun> {
  const { k, chunkBytes, dirs } = layout;
  let bytesRead = 0;
  let bytesWritten = 0;
  for (const dir of dirs) {
    await fs.mkdir(path.join(dir, 'tmp'), { recursive: true });
    await fs.mkdir(path.join(dir, 'blocks'), { recursive: true });
  }
  for (const source of sources) {
    const input = await fs.open(source.path, 'r');
    try {
      await forEachStripe(source, k * chunkBytes, 2 * dirs.length, async (stripe, buffer, length) => {
        await readFully(input, buffer, 0, length, stripe * k * chunkBytes);
        bytesRead += length;
        const shard = Math.ceil(length / k);
        await Promise.all(dirs.map(async (dir, block) => {
          const bytes = buffer.subarray(block < k ? block * shard : 0, (block < k ? block * shard : 0) + shard);
          const name = `${source.name}.${stripe}.${block}`;
          const temp = path.join(dir, 'tmp', `${name}.tmp`);
          await writeDurably(temp, bytes, dir);
          fsSync.renameSync(temp, path.join(dir, 'blocks', name));
          bytesWritten += bytes.length;
        }));
      });
    } finally {
      await input.close();
    }
  }
  for (const dir of dirs) {
    for (const sub of ['blocks', 'tmp']) await fsyncDirectory(path.join(dir, sub));
  }
  return { bytesRead, bytesWritten };
}

/**
 * Block-file get floor (informational): the read side of writeBlockFileFloor's layout. Per
 * stripe the k data block files are opened, read and closed, and the stripe written at its place
 * in one output file per source, fsynced at the end, with 2 * (k+m) stripes in flight: rain's
 * healthy get without checksums, decoding or worker processes.
 */
export async function readBlockFileFloor(sources: readonly SourceFile[], layout: FloorLayout, outDir: string): Promise<FloorRun> {
  const { k, chunkBytes, dirs } = layout;
  let bytesRead = 0;
  let bytesWritten = 0;
  for (const source of sources) {
    const out = await fs.open(path.join(outDir, source.name), 'wx');
    try {
      await forEachStripe(source, k * chunkBytes, 2 * dirs.length, async (stripe, buffer, length) => {
        const shard = Math.ceil(length / k);
        await Promise.all(dirs.slice(0, k).map(async (dir, block) => {
          // Opened and closed in this thread, the read in the pool: as rain reads a 1 MiB block (store/inline-io.ts).
          const fd = fsSync.openSync(path.join(dir, 'blocks', `${source.name}.${stripe}.${block}`), 'r');
          try {
            if (await readFullyAt(fd, buffer, block * shard, shard, 0) < shard) throw new Error('block file ended early');
          } finally {
            fsSync.closeSync(fd);
          }
        }));
        bytesRead += k * shard;
        await writeFully(out, buffer.subarray(0, length), stripe * k * chunkBytes);
        bytesWritten += length;
      });
      await out.sync();
    } finally {
      await out.close();
    }
  }
  return { bytesRead, bytesWritten };
}

/** Runs `each` over the source's stripes in order of start, `lanes` at a time, each lane with its own stripe buffer. */
async function forEachStripe(
  source: SourceFile, stripeBytes: number, lanes: number,
  each: (stripe: number, buffer: Buffer, lengthBytes: number) => Promise<void>,
): Promise<void> {
  const stripes = Math.ceil(source.sizeBytes / stripeBytes);
  let next = 0;
  const lane = async (): Promise<void> => {
    const buffer = Buffer.allocUnsafe(stripeBytes);
    while (next < stripes) {
      const stripe = next++;
      await each(stripe, buffer, Math.min(stripeBytes, source.sizeBytes - stripe * stripeBytes));
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}
