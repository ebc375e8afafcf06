import fs from 'node:fs/promises';
import { decodeBlockHeader, encodeBlockHeader, MAX_HEADER_BYTES, type BlockHeader } from '../format/block-header.js';
import { crc32Of } from '../format/checksum.js';
import { errnoCode } from '../rain-error.js';
import { blockPath, fileBlocksDir, parseBlockFileName, type BlockFileKey } from './store-layout.js';
import { DirectorySync, writeFileDurably } from './durable-file.js';
import { remotable } from './store-router.js';

export type BlockReadResult =
  | { readonly status: 'good'; readonly header: BlockHeader; readonly payload: Buffer }
  | { readonly status: 'missing' }
  | { readonly status: 'corrupt'; readonly reason: string };

/** Without `sync` (a call from another process or host) the block is durable, directory entry included, on return. */
async function writeBlockHere(storePath: string, header: BlockHeader, payload: Uint8Array, sync?: DirectorySync): Promise<void> {
  if (payload.length !== header.payloadLengthBytes) throw new Error('payload length does not match its header');
  if (crc32Of(payload) !== header.payloadCrc32) throw new Error('payload checksum does not match its header');
  const finalPath = blockPath(storePath, header.fileId, header.datasetIndex, header.blockIndex, header.sequence);
  const pending = sync ?? new DirectorySync();
  await writeFileDurably(storePath, finalPath, [encodeBlockHeader(header), payload], pending);
  if (!sync) await pending.flush();
}

export interface ExpectedBlock {
  readonly poolId: string;
  readonly fileId: string;
  readonly datasetIndex: number;
  readonly blockIndex: number;
  readonly sequence: bigint;
  readonly payloadLengthBytes: number;
}

/**
 * Reads one block and trusts nothing: the header must decode, name the block we asked for, and
 * the payload must match its checksum. Anything else is 'corrupt' (treated as missing by readers).
 */
async function readBlockHere(storePath: string, expected: ExpectedBlock, into?: Buffer): Promise<BlockReadResult> {
  const filePath = blockPath(storePath, expected.fileId, expected.datasetIndex, expected.blockIndex, expected.sequence);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(filePath, 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return { status: 'missing' };
    return { status: 'corrupt', reason: `unreadable: ${errnoCode(error) ?? String(error)}` };
  }
  try {
    const headerBuf = Buffer.allocUnsafe(MAX_HEADER_BYTES);
    const { bytesRead } = await handle.read(headerBuf, 0, MAX_HEADER_BYTES, 0);
    const decoded = decodeBlockHeader(headerBuf.subarray(0, bytesRead));
    if (!decoded.ok) return { status: 'corrupt', reason: decoded.reason };
    const h = decoded.header;
    if (h.poolId !== expected.poolId || h.fileId !== expected.fileId || h.datasetIndex !== expected.datasetIndex
      || h.blockIndex !== expected.blockIndex || h.sequence !== expected.sequence) {
      return { status: 'corrupt', reason: 'header names a different block' };
    }
    if (h.payloadLengthBytes !== expected.payloadLengthBytes) return { status: 'corrupt', reason: 'unexpected payload length' };
    const payload = into && into.length >= h.payloadLengthBytes ? into.subarray(0, h.payloadLengthBytes) : Buffer.allocUnsafe(h.payloadLengthBytes);
    let filled = 0;
    while (filled < payload.length) {
      const r = await handle.read(payload, filled, payload.length - filled, decoded.headerLengthBytes + filled);
      if (r.bytesRead === 0) return { status: 'corrupt', reason: 'truncated payload' };
      filled += r.bytesRead;
    }
    const stat = await handle.stat();
    if (stat.size !== decoded.headerLengthBytes + h.payloadLengthBytes) return { status: 'corrupt', reason: 'trailing bytes after payload' };
    if (crc32Of(payload) !== h.payloadCrc32) return { status: 'corrupt', reason: 'payload checksum mismatch' };
    return { status: 'good', header: h, payload };
  } catch (error) {
    return { status: 'corrupt', reason: `read failed: ${errnoCode(error) ?? String(error)}` };
  } finally {
    await handle.close();
  }
}

export type BlockVerdictOnly = { readonly status: 'good'; readonly header: BlockHeader } | { readonly status: 'missing' } | { readonly status: 'corrupt'; readonly reason: string };

/**
 * Reads and checks a block where it lives and answers only the verdict: a check of a store on
 * another host verifies its bytes there instead of pulling them across the network.
 */
async function verifyBlockHere(storePath: string, expected: ExpectedBlock): Promise<BlockVerdictOnly> {
  const result = await readBlockHere(storePath, expected);
  return result.status === 'good' ? { status: 'good', header: result.header } : result;
}

/** A block read on another host arrives as a fresh array; callers that lent a buffer get their bytes there. */
function intoCallerBuffer(result: BlockReadResult, args: [ExpectedBlock, Buffer?]): BlockReadResult {
  if (result.status !== 'good') return result;
  const arrived = result.payload as Uint8Array;
  const into = args[1];
  if (into && into.length >= arrived.length) {
    into.set(arrived);
    return { ...result, payload: into.subarray(0, arrived.length) };
  }
  return { ...result, payload: Buffer.from(arrived.buffer, arrived.byteOffset, arrived.byteLength) };
}

/** The block files this store holds for one file, by name only (contents are checked on read). */
async function listFileBlocksHere(storePath: string, fileId: string): Promise<BlockFileKey[]> {
  let names: string[];
  try {
    names = await fs.readdir(fileBlocksDir(storePath, fileId));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
  const keys: BlockFileKey[] = [];
  for (const name of names) {
    const key = parseBlockFileName(name);
    if (key) keys.push(key);
  }
  return keys;
}

async function removeBlockHere(storePath: string, fileId: string, key: BlockFileKey): Promise<void> {
  await fs.rm(blockPath(storePath, fileId, key.datasetIndex, key.blockIndex, key.sequence), { force: true });
}

/** Just the header of a block file (to learn a file's name and geometry from its blocks alone). */
async function readBlockHeaderHere(storePath: string, fileId: string, key: BlockFileKey): Promise<BlockHeader | undefined> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(blockPath(storePath, fileId, key.datasetIndex, key.blockIndex, key.sequence), 'r');
    const buf = Buffer.allocUnsafe(MAX_HEADER_BYTES);
    const { bytesRead } = await handle.read(buf, 0, MAX_HEADER_BYTES, 0);
    const decoded = decodeBlockHeader(buf.subarray(0, bytesRead));
    return decoded.ok && decoded.header.fileId === fileId && decoded.header.sequence === key.sequence ? decoded.header : undefined;
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

// Reachable from any process and host (store-router.ts); the implementations above run where the store is.
export const writeBlock = remotable('writeBlock', writeBlockHere, { localOnlyArgs: [2] });
export const readBlock = remotable('readBlock', readBlockHere, { localOnlyArgs: [1], adaptResult: intoCallerBuffer });
export const listFileBlocks = remotable('listFileBlocks', listFileBlocksHere);
export const removeBlock = remotable('removeBlock', removeBlockHere);
export const verifyBlock = remotable('verifyBlock', verifyBlockHere);
export const readBlockHeader = remotable('readBlockHeader', readBlockHeaderHere);
