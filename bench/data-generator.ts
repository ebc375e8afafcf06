import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export const MiB = 1024 * 1024;
const CHUNK_BYTES = 16 * MiB;

export interface SourceFile {
  readonly name: string;
  readonly path: string;
  readonly sizeBytes: number;
  readonly sha256: string;
}

/**
 * Writes `count` files totalling `totalBytes` of incompressible data. The bytes are an AES-128-CTR
 * keystream under a random key: as random as /dev/urandom for any compressor or deduplicator, every
 * block different, and produced at GB/s, so generating 1 GiB takes seconds. Each file's SHA-256 is
 * computed while writing, so later comparisons read only the copy being checked.
 */
export async function generateSourceFiles(dir: string, totalBytes: number, count: number): Promise<SourceFile[]> {
  await fs.mkdir(dir, { recursive: true });
  const cipher = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16));
  const zeros = Buffer.alloc(CHUNK_BYTES);
  const baseSize = Math.floor(totalBytes / count);
  const width = String(count).length;
  const files: SourceFile[] = [];
  for (let i = 0; i < count; i++) {
    const sizeBytes = i === count - 1 ? totalBytes - baseSize * (count - 1) : baseSize;
    const name = `data-${String(i + 1).padStart(width, '0')}.bin`;
    const filePath = path.join(dir, name);
    const hash = createHash('sha256');
    const handle = await fs.open(filePath, 'wx');
    try {
      let written = 0;
      while (written < sizeBytes) {
        const n = Math.min(CHUNK_BYTES, sizeBytes - written);
        const bytes = cipher.update(zeros.subarray(0, n));
        hash.update(bytes);
        await writeFully(handle, bytes, written);
        written += n;
      }
    } finally {
      await handle.close();
    }
    files.push({ name, path: filePath, sizeBytes, sha256: hash.digest('hex') });
  }
  return files;
}

export async function writeFully(handle: fs.FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset, position + offset);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    offset += bytesWritten;
  }
}

export function totalBytesOf(files: readonly SourceFile[]): number {
  return files.reduce((sum, f) => sum + f.sizeBytes, 0);
}
