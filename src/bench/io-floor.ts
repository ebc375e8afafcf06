import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFully, type SourceFile } from './data-generator.js';

/**
 * The I/O floor: the same bytes rain moves, with plain Node file I/O and no coding, checksums,
 * headers or worker processes. See docs/BENCHMARKS.md ("How the floor is defined").
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
 * Write floor: per source file, read it sequentially in chunkBytes chunks; chunk i goes to data
 * directory i mod k; after each stripe of k chunks, m "parity" chunks (the stripe's last chunk
 * written again, nothing computed) go to the m other directories. One file per directory per
 * source file, written through fs.WriteStream, fsynced once at the end. Total written =
 * size * (k+m) / k, as rain writes (less its block headers).
 */
export async function writeFloor(sources: readonly SourceFile[], layout: FloorLayout): Promise<FloorRun> {
  let bytesRead = 0;
  let bytesWritten = 0;
  for (const source of sources) {
    const handles = await Promise.all(layout.dirs.map((dir) => fs.open(partPath(dir, source), 'wx')));
    try {
      // A stream over the raw fd, not FileHandle.createWriteStream: on Node 20 that one keeps the
      // handle busy after end() and a later handle.sync() never settles.
      const streams = handles.map((h) => createWriteStream('', { fd: h.fd, highWaterMark: 4 * layout.chunkBytes, autoClose: false }));
      const parity = streams.slice(layout.k);
      let index = 0;
      let stripeLast: Buffer | undefined;
      const writeTo = async (stream: WriteStream, chunk: Buffer): Promise<void> => {
        bytesWritten += chunk.length;
        if (!stream.write(chunk)) await once(stream, 'drain');
      };
      for await (const raw of createReadStream(source.path, { highWaterMark: layout.chunkBytes })) {
        const chunk = raw as Buffer;
        bytesRead += chunk.length;
        await writeTo(streams[index % layout.k], chunk);
        stripeLast = chunk;
        index++;
        if (index % layout.k === 0) for (const p of parity) await writeTo(p, chunk);
      }
      if (index % layout.k !== 0 && stripeLast) for (const p of parity) await writeTo(p, stripeLast);
      await Promise.all(streams.map((s) => new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.end(() => resolve());
      })));
      await Promise.all(handles.map((h) => h.sync()));
    } finally {
      await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
    }
  }
  return { bytesRead, bytesWritten };
}

/**
 * Read floor: the k data parts of each source file are read concurrently, one fs.ReadStream each
 * (user bytes, as rain's healthy `get` reads only the k data blocks). With `outDir`, the chunks are
 * written at their place in one output file, which is fsynced at the end, as `rain get` does;
 * without it, the bytes are dropped (read-only floor).
 */
export async function readFloor(sources: readonly SourceFile[], layout: FloorLayout, outDir: string | undefined): Promise<FloorRun> {
  let bytesRead = 0;
  let bytesWritten = 0;
  const { k, chunkBytes } = layout;
  for (const source of sources) {
    const out = outDir ? await fs.open(path.join(outDir, source.name), 'wx') : undefined;
    try {
      await Promise.all(layout.dirs.slice(0, k).map(async (dir, part) => {
        let partOffset = 0;
        for await (const raw of createReadStream(partPath(dir, source), { highWaterMark: chunkBytes })) {
          const chunk = raw as Buffer;
          bytesRead += chunk.length;
          if (out) {
            // Part offset p belongs to stripe floor(p / chunk) at column `part`; split at chunk edges.
            let done = 0;
            while (done < chunk.length) {
              const p = partOffset + done;
              const within = p % chunkBytes;
              const n = Math.min(chunk.length - done, chunkBytes - within);
              await writeFully(out, chunk.subarray(done, done + n), (Math.floor(p / chunkBytes) * k + part) * chunkBytes + within);
              done += n;
            }
            bytesWritten += chunk.length;
          }
          partOffset += chunk.length;
        }
      }));
      if (out) await out.sync();
    } finally {
      await out?.close();
    }
  }
  return { bytesRead, bytesWritten };
}

/**
 * Verify floor: every part of every source file, data and parity (k+m streams at once), read and
 * dropped: the bytes `rain verify` must read, with nothing checked.
 */
export async function readAllPartsFloor(sources: readonly SourceFile[], layout: FloorLayout): Promise<FloorRun> {
  let bytesRead = 0;
  for (const source of sources) {
    await Promise.all(layout.dirs.map(async (dir) => {
      for await (const raw of createReadStream(partPath(dir, source), { highWaterMark: layout.chunkBytes })) bytesRead += (raw as Buffer).length;
    }));
  }
  return { bytesRead, bytesWritten: 0 };
}

/**
 * Rebuild floor: the lost directory's part is deleted (as rain's store is emptied), the parts of
 * the k+m-1 surviving directories read (rain's rebuild reads the surviving blocks of every data
 * set), and the lost part written again at its old size (its bytes copied from a surviving part:
 * nothing is computed), fsynced at the end.
 */
export async function rebuildFloor(sources: readonly SourceFile[], layout: FloorLayout, lost: number): Promise<FloorRun> {
  let bytesRead = 0;
  let bytesWritten = 0;
  const survivors = layout.dirs.filter((_, i) => i !== lost);
  for (const source of sources) {
    const lostPath = partPath(layout.dirs[lost], source);
    const lostSize = (await fs.stat(lostPath)).size;
    const sizes = await Promise.all(survivors.map(async (dir) => (await fs.stat(partPath(dir, source))).size));
    // The largest survivor's bytes stand in for the lost part's (parts differ by at most a chunk).
    const donor = sizes.indexOf(Math.max(...sizes));
    if (sizes[donor] < lostSize) throw new Error('rebuild floor: every surviving part is shorter than the lost one');
    await fs.rm(lostPath);
    const out = await fs.open(lostPath, 'wx');
    try {
      await Promise.all(survivors.map(async (dir, index) => {
        let offset = 0;
        for await (const raw of createReadStream(partPath(dir, source), { highWaterMark: layout.chunkBytes })) {
          const chunk = raw as Buffer;
          bytesRead += chunk.length;
          if (index === donor && offset < lostSize) {
            const piece = chunk.subarray(0, Math.min(chunk.length, lostSize - offset));
            await writeFully(out, piece, offset);
            bytesWritten += piece.length;
          }
          offset += chunk.length;
        }
      }));
      await out.sync();
    } finally {
      await out.close();
    }
  }
  return { bytesRead, bytesWritten };
}

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
      const stripeBytes = k * chunkBytes;
      const stripes = Math.ceil(source.sizeBytes / stripeBytes);
      let next = 0;
      const lane = async (): Promise<void> => {
        const buffer = Buffer.allocUnsafe(stripeBytes);
        while (next < stripes) {
          const stripe = next++;
          const length = Math.min(stripeBytes, source.sizeBytes - stripe * stripeBytes);
          let filled = 0;
          while (filled < length) {
            const { bytesRead: n } = await input.read(buffer, filled, length - filled, stripe * stripeBytes + filled);
            if (n === 0) throw new Error(`${source.path} ended early`);
            filled += n;
          }
          bytesRead += length;
          const shard = Math.ceil(length / k);
          await Promise.all(dirs.map(async (dir, block) => {
            const bytes = buffer.subarray(block < k ? block * shard : 0, (block < k ? block * shard : 0) + shard);
            const name = `${source.name}.${stripe}.${block}`;
            const temp = path.join(dir, 'tmp', `${name}.tmp`);
            const handle = await fs.open(temp, 'wx');
            try {
              await writeFully(handle, bytes, 0);
              await handle.sync();
            } finally {
              await handle.close();
            }
            await fs.rename(temp, path.join(dir, 'blocks', name));
            bytesWritten += bytes.length;
          }));
        }
      };
      await Promise.all(Array.from({ length: 2 * dirs.length }, lane));
    } finally {
      await input.close();
    }
  }
  for (const dir of dirs) {
    for (const sub of ['blocks', 'tmp']) {
      const handle = await fs.open(path.join(dir, sub), 'r');
      await handle.sync();
      await handle.close();
    }
  }
  return { bytesRead, bytesWritten };
}
