import fsSync from 'node:fs';
import { decodeBlockHeader, encodeBlockHeader, MAX_HEADER_BYTES, type BlockHeader } from '../format/block-header.js';
import { crc32Of } from '../format/checksum.js';
import { describeStoreError, errnoCode } from '../rain-error.js';
import { blockPath, fileBlocksDir, parseBlockFileName, type BlockFileKey } from './store-layout.js';
import { DirectorySync, writeFileDurably } from './durable-file.js';
import { kindOf, openFailure, openForReading, readdirOrEmpty, removeFileInStore } from './guarded-fs.js';
import { readAt, readFullyAt, readvAt } from './inline-io.js';

export type BlockReadResult =
  | { readonly status: 'good'; readonly header: BlockHeader; readonly payload: Buffer }
  | { readonly status: 'missing' }
  | { readonly status: 'corrupt'; readonly reason: string };

/** A header to write: the payload checksum may be left to writeBlock, which hashes the payload anyway. */
export type BlockHeaderInput = Omit<BlockHeader, 'payloadCrc32'> & { readonly payloadCrc32?: number };

/**
 * Writes one block file durably and returns the payload's CRC-32. The checksum is computed here,
 * from the very bytes written, so header and payload cannot disagree; a caller-supplied one is
 * checked against it. Callers reuse the returned CRC (e.g. to derive the data set checksum with
 * crc32Combine) instead of hashing the payload a second time. The rename's directory joins
 * `sync` (LocalStore's batch, made durable by its flush()); without it, the block is durable,
 * directory entry included, on return.
 */
export async function writeBlock(storePath: string, header: BlockHeaderInput, payload: Uint8Array, sync?: DirectorySync): Promise<number> {
  if (payload.length !== header.payloadLengthBytes) throw new Error('payload length does not match its header');
  const payloadCrc32 = crc32Of(payload);
  if (header.payloadCrc32 !== undefined && header.payloadCrc32 >>> 0 !== payloadCrc32) throw new Error('payload checksum does not match its header');
  const finalPath = blockPath(storePath, header.fileId, header.datasetIndex, header.blockIndex, header.sequence);
  const pending = sync ?? new DirectorySync();
  await writeFileDurably(storePath, finalPath, [encodeBlockHeader({ ...header, payloadCrc32 }), payload], pending);
  if (!sync) await pending.flush();
  return payloadCrc32;
}

export interface ExpectedBlock {
  readonly poolId: string;
  readonly fileId: string;
  readonly datasetIndex: number;
  readonly blockIndex: number;
  readonly sequence: bigint;
  readonly payloadLengthBytes: number;
  /** The file's name, when known: it fixes the header's length, so header and payload come in one read. */
  readonly name?: string;
}

/** Header bytes before the name (docs/FORMAT.md §5): 90 fixed + the trailing 4-byte header CRC. */
const HEADER_BYTES_WITHOUT_NAME = 94;

/**
 * Reads one block and trusts nothing: the header must decode, name the block we asked for, and
 * the payload must match its checksum. Anything else is 'corrupt' (treated as missing by readers).
 *
 * When the name is known the header's length is too, so one readv fills the header, the payload
 * (straight into `into`, no copy) and one byte past the end: that extra byte arriving means
 * trailing garbage, so no fstat is needed. A header of another length falls back to a second read.
 */
export async function readBlock(storePath: string, expected: ExpectedBlock, into?: Buffer): Promise<BlockReadResult> {
  const filePath = blockPath(storePath, expected.fileId, expected.datasetIndex, expected.blockIndex, expected.sequence);
  let fd: number;
  try {
    fd = openForReading(filePath);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return { status: 'missing' };
    return { status: 'corrupt', reason: `unreadable: ${describeStoreError(openFailure(storePath, filePath, error))}` };
  }
  try {
    const guessedHeaderBytes = expected.name === undefined ? MAX_HEADER_BYTES : HEADER_BYTES_WITHOUT_NAME + Buffer.byteLength(expected.name, 'utf8');
    const payload = into && into.length >= expected.payloadLengthBytes
      ? into.subarray(0, expected.payloadLengthBytes) : Buffer.allocUnsafe(expected.payloadLengthBytes);
    const headerBuf = Buffer.allocUnsafe(guessedHeaderBytes);
    const past = Buffer.allocUnsafe(1);
    const exact = guessedHeaderBytes + payload.length;
    let got = 0;
    // readv may return short (signals, odd file systems): top up until the file ends.
    const regions = [headerBuf, payload, past];
    for (;;) {
      const bytesRead = await readvAt(fd, remainderOf(regions, got), got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got === exact + 1) break;
    }
    let decoded = decodeBlockHeader(headerBuf.subarray(0, Math.min(got, guessedHeaderBytes)));
    if (!decoded.ok && guessedHeaderBytes < MAX_HEADER_BYTES) {
      // Perhaps only longer than guessed: decode it from a read of the largest possible header.
      const whole = Buffer.allocUnsafe(MAX_HEADER_BYTES);
      const bytesRead = await readAt(fd, whole, 0, MAX_HEADER_BYTES, 0);
      decoded = decodeBlockHeader(whole.subarray(0, bytesRead));
    }
    if (!decoded.ok) return { status: 'corrupt', reason: notRegular(fd) ?? decoded.reason };
    const h = decoded.header;
    if (h.poolId !== expected.poolId || h.fileId !== expected.fileId || h.datasetIndex !== expected.datasetIndex
      || h.blockIndex !== expected.blockIndex || h.sequence !== expected.sequence) {
      return { status: 'corrupt', reason: 'header names a different block' };
    }
    if (h.payloadLengthBytes !== expected.payloadLengthBytes) return { status: 'corrupt', reason: 'unexpected payload length' };
    const fileBytes = decoded.headerLengthBytes + h.payloadLengthBytes;
    if (decoded.headerLengthBytes === guessedHeaderBytes) {
      if (got < exact) return { status: 'corrupt', reason: 'truncated payload' };
      if (got > exact) return { status: 'corrupt', reason: 'trailing bytes after payload' };
    } else {
      // The header is shorter than guessed (unknown or different name): read the payload where it is.
      if (await readFullyAt(fd, payload, 0, payload.length, decoded.headerLengthBytes) < payload.length) {
        return { status: 'corrupt', reason: 'truncated payload' };
      }
      if (await readAt(fd, past, 0, 1, fileBytes) !== 0) return { status: 'corrupt', reason: 'trailing bytes after payload' };
    }
    if (crc32Of(payload) !== h.payloadCrc32) return { status: 'corrupt', reason: 'payload checksum mismatch' };
    return { status: 'good', header: h, payload };
  } catch (error) {
    return { status: 'corrupt', reason: notRegular(fd) ?? `read failed: ${describeStoreError(error)}` };
  } finally {
    fsSync.closeSync(fd);
  }
}

/**
 * Why a block did not read, when the reason is that it is no file at all (a FIFO, a device, a
 * directory): asked only after a read failed, so a good block costs no fstat.
 */
function notRegular(fd: number): string | undefined {
  try {
    const stat = fsSync.fstatSync(fd);
    return stat.isFile() ? undefined : `${kindOf(stat)} is where the block belongs, not a file`;
  } catch {
    return undefined;
  }
}

export type BlockVerdictOnly = { readonly status: 'good'; readonly header: BlockHeader } | { readonly status: 'missing' } | { readonly status: 'corrupt'; readonly reason: string };

/**
 * Reads and checks a block where it lives and answers only the verdict: a check of a store on
 * another host verifies its bytes there instead of pulling them across the network.
 */
export async function verifyBlock(storePath: string, expected: ExpectedBlock): Promise<BlockVerdictOnly> {
  const result = await readBlock(storePath, expected);
  return result.status === 'good' ? { status: 'good', header: result.header } : result;
}

/** The parts of `regions` after their first `skip` bytes. */
function remainderOf(regions: readonly Buffer[], skip: number): Buffer[] {
  const rest: Buffer[] = [];
  let left = skip;
  for (const region of regions) {
    if (left >= region.length) {
      left -= region.length;
      continue;
    }
    rest.push(left > 0 ? region.subarray(left) : region);
    left = 0;
  }
  return rest;
}

/** The block files this store holds for one file, by name only (contents are checked on read). */
export async function listFileBlocks(storePath: string, fileId: string): Promise<BlockFileKey[]> {
  const names = readdirOrEmpty(fileBlocksDir(storePath, fileId));
  const keys: BlockFileKey[] = [];
  for (const name of names) {
    const key = parseBlockFileName(name);
    if (key) keys.push(key);
  }
  return keys;
}

export async function removeBlock(storePath: string, fileId: string, key: BlockFileKey): Promise<void> {
  removeFileInStore(storePath, blockPath(storePath, fileId, key.datasetIndex, key.blockIndex, key.sequence));
}

/** Just the header of a block file (to learn a file's name and geometry from its blocks alone). */
export async function readBlockHeader(storePath: string, fileId: string, key: BlockFileKey): Promise<BlockHeader | undefined> {
  let fd: number;
  try {
    fd = openForReading(blockPath(storePath, fileId, key.datasetIndex, key.blockIndex, key.sequence));
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.allocUnsafe(MAX_HEADER_BYTES);
    const bytesRead = await readAt(fd, buf, 0, MAX_HEADER_BYTES, 0);
    const decoded = decodeBlockHeader(buf.subarray(0, bytesRead));
    return decoded.ok && decoded.header.fileId === fileId && decoded.header.sequence === key.sequence
      && decoded.header.datasetIndex === key.datasetIndex && decoded.header.blockIndex === key.blockIndex ? decoded.header : undefined;
  } catch {
    return undefined;
  } finally {
    fsSync.closeSync(fd);
  }
}

