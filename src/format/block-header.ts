import { crc32Of } from './checksum.js';
import { idToBytes, ID_BYTES } from './ids.js';
import { MAX_BLOCKS_PER_DATA_SET, MAX_NAME_BYTES } from './pool-limits.js';

/**
 * Every block file is this header followed by the payload. All integers little-endian.
 * The layout is the contract in docs/FORMAT.md; change FORMAT_VERSION if it ever changes.
 */
export const BLOCK_MAGIC = Buffer.from('RAINBLK1', 'ascii');
export const BLOCK_FORMAT_VERSION = 1;
const FIXED_BYTES = 90; // up to and including the name length field
const CRC_BYTES = 4;
export const MAX_HEADER_BYTES = FIXED_BYTES + MAX_NAME_BYTES + CRC_BYTES;

export interface BlockHeader {
  readonly poolId: string;
  readonly fileId: string;
  readonly name: string;
  readonly sequence: bigint;
  readonly fileSizeBytes: number;
  readonly k: number;
  readonly m: number;
  readonly blockIndex: number;
  readonly datasetIndex: number;
  readonly datasetCount: number;
  readonly blockSizeBytes: number;
  readonly payloadLengthBytes: number;
  readonly datasetDataBytes: number;
  readonly payloadCrc32: number;
}

export function encodeBlockHeader(header: BlockHeader): Buffer {
  assertHeaderInvariants(header);
  const nameBytes = Buffer.from(header.name, 'utf8');
  const total = FIXED_BYTES + nameBytes.length + CRC_BYTES;
  const out = Buffer.alloc(total);
  BLOCK_MAGIC.copy(out, 0);
  out.writeUInt16LE(BLOCK_FORMAT_VERSION, 8);
  out.writeUInt16LE(total, 10);
  out.writeUInt8(header.k, 12);
  out.writeUInt8(header.m, 13);
  out.writeUInt8(header.blockIndex, 14);
  out.writeUInt8(0, 15);
  idToBytes(header.poolId).copy(out, 16);
  idToBytes(header.fileId).copy(out, 16 + ID_BYTES);
  out.writeBigUInt64LE(header.sequence, 48);
  out.writeBigUInt64LE(BigInt(header.fileSizeBytes), 56);
  out.writeUInt32LE(header.datasetIndex, 64);
  out.writeUInt32LE(header.datasetCount, 68);
  out.writeUInt32LE(header.blockSizeBytes, 72);
  out.writeUInt32LE(header.payloadLengthBytes, 76);
  out.writeUInt32LE(header.datasetDataBytes, 80);
  out.writeUInt32LE(header.payloadCrc32 >>> 0, 84);
  out.writeUInt16LE(nameBytes.length, 88);
  nameBytes.copy(out, FIXED_BYTES);
  out.writeUInt32LE(crc32Of(out.subarray(0, total - CRC_BYTES)), total - CRC_BYTES);
  return out;
}

export type HeaderDecodeResult =
  | { readonly ok: true; readonly header: BlockHeader; readonly headerLengthBytes: number }
  | { readonly ok: false; readonly reason: string };

/** Decodes and validates a header from the first bytes of a block file; never throws on garbage. */
export function decodeBlockHeader(bytes: Uint8Array): HeaderDecodeResult {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < FIXED_BYTES + CRC_BYTES) return { ok: false, reason: 'shorter than a block header' };
  if (!buf.subarray(0, 8).equals(BLOCK_MAGIC)) return { ok: false, reason: 'bad magic (not a rain block)' };
  const version = buf.readUInt16LE(8);
  if (version !== BLOCK_FORMAT_VERSION) return { ok: false, reason: `unknown block format version ${version}` };
  const total = buf.readUInt16LE(10);
  const nameLength = buf.readUInt16LE(88);
  if (total !== FIXED_BYTES + nameLength + CRC_BYTES || nameLength > MAX_NAME_BYTES) {
    return { ok: false, reason: 'inconsistent header length' };
  }
  if (buf.length < total) return { ok: false, reason: 'truncated header' };
  const storedCrc = buf.readUInt32LE(total - CRC_BYTES);
  if (crc32Of(buf.subarray(0, total - CRC_BYTES)) !== storedCrc) return { ok: false, reason: 'header checksum mismatch' };
  const header: BlockHeader = {
    k: buf.readUInt8(12),
    m: buf.readUInt8(13),
    blockIndex: buf.readUInt8(14),
    poolId: buf.subarray(16, 32).toString('hex'),
    fileId: buf.subarray(32, 48).toString('hex'),
    sequence: buf.readBigUInt64LE(48),
    fileSizeBytes: Number(buf.readBigUInt64LE(56)),
    datasetIndex: buf.readUInt32LE(64),
    datasetCount: buf.readUInt32LE(68),
    blockSizeBytes: buf.readUInt32LE(72),
    payloadLengthBytes: buf.readUInt32LE(76),
    datasetDataBytes: buf.readUInt32LE(80),
    payloadCrc32: buf.readUInt32LE(84),
    name: buf.subarray(FIXED_BYTES, FIXED_BYTES + nameLength).toString('utf8'),
  };
  try {
    assertHeaderInvariants(header);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  return { ok: true, header, headerLengthBytes: total };
}

function assertHeaderInvariants(h: BlockHeader): void {
  if (h.k < 1 || h.m < 1 || h.k + h.m > MAX_BLOCKS_PER_DATA_SET) throw new Error(`bad k/m in header: ${h.k}/${h.m}`);
  if (h.blockIndex >= h.k + h.m) throw new Error(`block index ${h.blockIndex} out of range for ${h.k}+${h.m}`);
  if (h.datasetIndex >= h.datasetCount) throw new Error(`data set index ${h.datasetIndex} >= count ${h.datasetCount}`);
  if (h.payloadLengthBytes > h.blockSizeBytes) throw new Error('payload longer than the block size');
  if (h.datasetDataBytes > h.k * h.payloadLengthBytes) throw new Error('data set data longer than its data blocks');
  if (!Number.isSafeInteger(h.fileSizeBytes) || h.fileSizeBytes < 0) throw new Error('file size out of range');
}
