import { crc32 } from 'node:zlib';
import fs from 'node:fs/promises';
import path from 'node:path';
import { listBlockFiles } from './rain-cli.js';

/**
 * What an adversary, a failing disk or a careless person does to a store, done to real files:
 * forged blocks with valid CRCs, records looked up by name. Tests use these to prove rain's
 * answers, never rain's own code.
 */

/** The file id a store's catalog gives a name (newest record), read straight from the record files. */
export async function fileIdOf(storePath: string, name: string): Promise<string> {
  let best: { sequence: bigint; fileId: string } | undefined;
  for (const bucket of await fs.readdir(path.join(storePath, 'catalog'))) {
    for (const file of await fs.readdir(path.join(storePath, 'catalog', bucket))) {
      const text = await fs.readFile(path.join(storePath, 'catalog', bucket, file), 'utf8');
      const body = (JSON.parse(text) as { body: { name: string; fileId: string; sequence: string } }).body;
      if (body.name !== name) continue;
      if (!best || BigInt(body.sequence) > best.sequence) best = { sequence: BigInt(body.sequence), fileId: body.fileId };
    }
  }
  if (!best) throw new Error(`${name} has no record in ${storePath}`);
  return best.fileId;
}

export interface BlockFile {
  readonly store: number;
  readonly path: string;
  readonly datasetIndex: number;
  readonly blockIndex: number;
}

/** Every block file of a file id on every store. */
export async function blocksOf(stores: readonly string[], fileId: string): Promise<BlockFile[]> {
  const out: BlockFile[] = [];
  for (const [store, storePath] of stores.entries()) {
    for (const file of await listBlockFiles(storePath)) {
      if (path.basename(path.dirname(file)) !== fileId) continue;
      const [d, b] = path.basename(file).split('.').map(Number);
      out.push({ store, path: file, datasetIndex: d, blockIndex: b });
    }
  }
  return out.sort((a, b) => a.datasetIndex - b.datasetIndex || a.blockIndex - b.blockIndex);
}

/**
 * Changes payload bytes of a block and recomputes both of its CRCs (payload CRC at offset 84,
 * header CRC after the name), so the block passes every check a block can make of itself.
 */
export async function forgeBlock(file: string): Promise<void> {
  const bytes = await fs.readFile(file);
  const headerBytes = bytes.readUInt16LE(10);
  for (let i = headerBytes; i < bytes.length; i += 97) bytes[i] ^= 0x5a;
  bytes.writeUInt32LE(crc32(bytes.subarray(headerBytes)) >>> 0, 84);
  bytes.writeUInt32LE(crc32(bytes.subarray(0, headerBytes - 4)) >>> 0, headerBytes - 4);
  await fs.writeFile(file, bytes);
}

/** Flips one bit in the middle of a file (bit rot). */
export async function flipBit(file: string): Promise<void> {
  const bytes = await fs.readFile(file);
  bytes[Math.floor(bytes.length / 2)] ^= 0x04;
  await fs.writeFile(file, bytes);
}

/** Every entry below `root` (relative path -> kind and size), to prove a directory outside a store was not touched. */
export async function listing(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        out[`${path.relative(root, full)}/`] = 'dir';
        await walk(full);
      } else {
        out[path.relative(root, full)] = `${entry.isFile() ? 'file' : 'other'}:${(await fs.lstat(full)).size}`;
      }
    }
  };
  await walk(root);
  return out;
}
