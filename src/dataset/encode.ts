import { crc32Combine, crc32Of } from '../format/checksum.js';
import { datasetExtent } from '../format/dataset-geometry.js';
import { describeStoreError } from '../rain-error.js';
import type { BlockHeaderInput } from '../store/block-files.js';
import type { DatasetContext } from './dataset-context.js';
import type { DatasetRef } from './dataset-ref.js';
import type { EncodeResult } from './results.js';

/**
 * Reads up to `length` bytes of the source at `position` into `into`; returns how many arrived
 * (fewer: the source ended there).
 */
export type SourceReader = (into: Buffer, length: number, position: number) => Promise<number>;

/**
 * Encodes one data set: its bytes from the source, the parity computed, all k+m blocks written to
 * their stores (durable at the context's flush). Blocks whose store is not writable are skipped
 * and reported; the caller decides whether enough were written. A source that ends before the
 * data set's bytes (it shrank while being read) writes nothing and says so.
 *
 * With `keepIfChecksum` (a sync of a changed file: the previous version's checksum of the same
 * byte range), bytes that still have that checksum are not encoded or written: the result says
 * `kept`, and the previous blocks serve the new version. The source is read once either way.
 */
export async function encodeDataset(ctx: DatasetContext, ref: DatasetRef, readSource: SourceReader, keepIfChecksum?: number): Promise<EncodeResult> {
  const extent = datasetExtent({ fileSizeBytes: ref.fileSizeBytes, k: ref.k, blockSizeBytes: ref.blockSizeBytes }, ref.datasetIndex);
  const { shardBytes } = extent;
  const width = ref.k + ref.m;
  const buffer = ctx.takeBuffer(width * shardBytes);
  try {
    const dataRegion = buffer.subarray(0, ref.k * shardBytes);
    const sourceBytesRead = await readSource(dataRegion, extent.dataBytes, extent.fileOffsetBytes);
    if (sourceBytesRead < extent.dataBytes) {
      // It shrank while being read: the writer sees this and reads the file again (or keeps the old version).
      return { datasetIndex: ref.datasetIndex, dataChecksum: 0, written: [], failed: [], sourceEnded: true, sourceBytesRead };
    }
    const readChecksum = keepIfChecksum === undefined ? undefined : crc32Of(dataRegion.subarray(0, extent.dataBytes));
    if (readChecksum !== undefined && readChecksum === keepIfChecksum) {
      return { datasetIndex: ref.datasetIndex, dataChecksum: readChecksum, written: [], failed: [], kept: true, sourceBytesRead };
    }
    dataRegion.fill(0, extent.dataBytes);
    const shards = Array.from({ length: width }, (_, b) => buffer.subarray(b * shardBytes, (b + 1) * shardBytes));
    ctx.codec(ref.k, ref.m).encode(shards.slice(0, ref.k), shards.slice(ref.k));

    const written: number[] = [];
    const failed: { blockIndex: number; slot: number; reason: string }[] = [];
    const payloadCrcs: (number | undefined)[] = new Array<number | undefined>(width).fill(undefined);
    await Promise.all(shards.map(async (payload, blockIndex) => {
      const slot = ref.placement[blockIndex];
      const store = ctx.storeOf(slot);
      if (!store.writable) {
        failed.push({ blockIndex, slot, reason: `store ${slot} is ${store.why ?? 'not writable'}` });
        return;
      }
      const header: BlockHeaderInput = {
        poolId: ref.poolId, fileId: ref.fileId, name: ref.name, sequence: ref.sequence, fileSizeBytes: ref.fileSizeBytes,
        k: ref.k, m: ref.m, blockIndex, datasetIndex: ref.datasetIndex, datasetCount: ref.datasetCount,
        blockSizeBytes: ref.blockSizeBytes, payloadLengthBytes: shardBytes, datasetDataBytes: extent.dataBytes,
      };
      try {
        payloadCrcs[blockIndex] = await store.store.writeBlock(header, payload);
        written.push(blockIndex);
      } catch (error) {
        failed.push({ blockIndex, slot, reason: describeStoreError(error) });
      }
    }));
    const dataChecksum = readChecksum ?? datasetChecksum(dataRegion, extent.dataBytes, shardBytes, payloadCrcs);
    written.sort((a, b) => a - b);
    return { datasetIndex: ref.datasetIndex, dataChecksum, written, failed, sourceBytesRead };
  } finally {
    ctx.giveBuffer(buffer);
  }
}

/**
 * The CRC-32 of the data set's file bytes. A full data set is exactly its k data blocks end to
 * end, so the checksum follows from the block CRCs writeBlock computed, without a second pass over
 * the bytes; a short last data set (zero padding) or a block that was not written is hashed here.
 */
function datasetChecksum(dataRegion: Buffer, dataBytes: number, shardBytes: number, payloadCrcs: readonly (number | undefined)[]): number {
  const k = dataRegion.length / shardBytes;
  if (dataBytes !== dataRegion.length) return crc32Of(dataRegion.subarray(0, dataBytes));
  let crc = 0;
  for (let b = 0; b < k; b++) {
    const blockCrc = payloadCrcs[b] ?? crc32Of(dataRegion.subarray(b * shardBytes, (b + 1) * shardBytes));
    crc = b === 0 ? blockCrc : crc32Combine(crc, blockCrc, shardBytes);
  }
  return crc;
}
