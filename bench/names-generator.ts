import { createCipheriv, createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { seededRandom } from './tree-generator.js';

/**
 * A pool of many small files (issue 17's "1,000,000 small files"): file i is
 * dDDDD/fIIIIIII.bin, FILES_PER_DIRECTORY to a directory, its size uniform in
 * [minBytes, maxBytes] and its bytes an AES-128-CTR keystream, all from the seed. Nothing per
 * file is kept in memory (a million records would cost the bench more than the files cost
 * tmpfs): a file's path follows from its index and its bytes are read back from the source.
 */
export interface NamesPool {
  readonly root: string;
  readonly files: number;
  readonly totalBytes: number;
  readonly directories: number;
  readonly seed: number;
  readonly minBytes: number;
  readonly maxBytes: number;
}

export interface NamesShape {
  readonly files: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly seed: number;
}

export const FILES_PER_DIRECTORY = 1000;
/** The keystream is cut in slices of this size, so the cipher is called once per ~500 files, not per file. */
const KEYSTREAM_CHUNK_BYTES = 1024 * 1024;

/** Slash-separated path of file `index` below the pool's root. */
export function namesRelPath(pool: Pick<NamesPool, 'files'>, index: number): string {
  const directoryWidth = Math.max(4, String(Math.ceil(pool.files / FILES_PER_DIRECTORY)).length);
  const fileWidth = Math.max(7, String(pool.files).length);
  return `d${String(Math.floor(index / FILES_PER_DIRECTORY)).padStart(directoryWidth, '0')}/f${String(index).padStart(fileWidth, '0')}.bin`;
}

export function namesFilePath(pool: NamesPool, index: number): string {
  return path.join(pool.root, ...namesRelPath(pool, index).split('/'));
}

/**
 * Writes the files with synchronous calls from this one process: on tmpfs a write only touches
 * memory, so each file costs its open, write and close (~30 µs), where a promise per file would
 * add a hand-off to libuv's pool and back.
 */
export function generateNames(root: string, shape: NamesShape): NamesPool {
  const random = seededRandom(shape.seed);
  const key = createHash('sha256').update(`rain-bench-names-${shape.seed}`).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  const zeros = Buffer.alloc(KEYSTREAM_CHUNK_BYTES);
  let keystream = cipher.update(zeros);
  let offset = 0;
  let totalBytes = 0;
  let directories = 0;
  const pool = { files: shape.files };
  for (let i = 0; i < shape.files; i++) {
    if (i % FILES_PER_DIRECTORY === 0) {
      mkdirSync(path.dirname(path.join(root, namesRelPath(pool, i))), { recursive: true });
      directories++;
    }
    const sizeBytes = shape.minBytes + Math.floor(random() * (shape.maxBytes - shape.minBytes + 1));
    if (offset + sizeBytes > keystream.length) {
      keystream = cipher.update(zeros);
      offset = 0;
    }
    writeFileSync(path.join(root, namesRelPath(pool, i)), keystream.subarray(offset, offset + sizeBytes), { flag: 'wx' });
    offset += sizeBytes;
    totalBytes += sizeBytes;
  }
  return { root, files: shape.files, totalBytes, directories, seed: shape.seed, minBytes: shape.minBytes, maxBytes: shape.maxBytes };
}
