import { crc32Combine, crc32Of } from '../../format/checksum.js';
import { datasetExtent } from '../../format/dataset-geometry.js';
import { writeBlock, type BlockHeaderInput } from '../../store/block-files.js';
import { readFullyAt } from '../../store/inline-io.js';
import { describeStoreError } from '../../rain-error.js';
import type { DatasetRef, EncodeResult } from '../protocol.js';
import type { WorkerContext } from '../worker-context.js';
import { faultPoint } from '../fault-points.js';

/**
 * The responsible worker reads its data set straight from the source file, computes the parity
 * and writes all k+m blocks to their stores. Blocks whose store is not writable are skipped and
 * reported; the caller decides whether enough were written.
 */
export async function encodeDataset(ctx: WorkerContext, ref: DatasetRef, sourcePath: string): Promise<EncodeResult> {
  const extent = datasetExtent({ fileSizeBytes: ref.fileSizeBytes, k: ref.k, blockSizeBytes: ref.blockSizeBytes }, ref.datasetIndex);
  const { shardBytes } = extent;
  const width = ref.k + ref.m;
  const buffer = ctx.takeBuffer(width * shardBytes);
  try {
    const dataRegion = buffer.subarray(0, ref.k * shardBytes);
    const source = ctx.descriptor(sourcePath, 'r');
    if (await readFullyAt(source, dataRegion, 0, extent.dataBytes, extent.fileOffsetBytes) < extent.dataBytes) {
      // It shrank while being read: the writer sees this and reads the file again (or keeps the old version).
      return { datasetIndex: ref.datasetIndex, dataChecksum: 0, written: [], failed: [], sourceEnded: true };
    }
    dataRegion.fill(0, extent.dataBytes);
    const shards = Array.from({ length: width }, (_, b) => buffer.subarray(b * shardBytes, (b + 1) * shardBytes));
    ctx.codec(ref.k, ref.m).encode(shards.slice(0, ref.k), shards.slice(ref.k));

    const written: number[] = [];
    const failed: { blockIndex: number; slot: number; reason: string }[] = [];
    const payloadCrcs: (number | undefined)[] = new Array<number | undefined>(width).fill(undefined);
    await Promise.all(shards.map(async (payload, blockIndex) => {
      const slot = ref.placement[blockIndex];
      const store = ctx.store(slot);
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
        payloadCrcs[blockIndex] = await writeBlock(store.path, header, payload, ctx.directorySync);
        written.push(blockIndex);
      } catch (error) {
        failed.push({ blockIndex, slot, reason: describeStoreError(error) });
      }
    }));
    await faultPoint('worker-encoded', ctx.slot);
    const dataChecksum = datasetChecksum(dataRegion, extent.dataBytes, shardBytes, payloadCrcs);
    written.sort((a, b) => a - b);
    return { datasetIndex: ref.datasetIndex, dataChecksum, written, failed };
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
