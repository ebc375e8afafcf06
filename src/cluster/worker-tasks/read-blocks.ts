import { datasetExtent, type DatasetExtent } from '../../format/dataset-geometry.js';
import { readBlock, type BlockReadResult } from '../../store/block-files.js';
import type { DatasetRef } from '../protocol.js';
import type { WorkerContext } from '../worker-context.js';

export interface DatasetBuffers {
  readonly extent: DatasetExtent;
  readonly buffer: Buffer;
  /** shards[b] views `buffer`; valid bytes only where results[b].status === 'good'. */
  readonly shards: Buffer[];
  readonly results: (BlockReadResult | undefined)[];
}

export function extentOf(ref: DatasetRef): DatasetExtent {
  return datasetExtent({ fileSizeBytes: ref.fileSizeBytes, k: ref.k, blockSizeBytes: ref.blockSizeBytes }, ref.datasetIndex);
}

export function allocateDataset(ctx: WorkerContext, ref: DatasetRef): DatasetBuffers {
  const extent = extentOf(ref);
  const width = ref.k + ref.m;
  const buffer = ctx.takeBuffer(width * extent.shardBytes);
  const shards = Array.from({ length: width }, (_, b) => buffer.subarray(b * extent.shardBytes, (b + 1) * extent.shardBytes));
  return { extent, buffer, shards, results: new Array<BlockReadResult | undefined>(width).fill(undefined) };
}

/** Reads (and checks) the given blocks in parallel into their shard buffers. */
export async function readBlocksInto(ctx: WorkerContext, ref: DatasetRef, data: DatasetBuffers, blockIndexes: readonly number[]): Promise<void> {
  await Promise.all(blockIndexes.map(async (blockIndex) => {
    const store = ctx.store(ref.placement[blockIndex]);
    if (!store.readable) {
      data.results[blockIndex] = { status: 'missing' };
      return;
    }
    const result = await readBlock(store.path, {
      poolId: ref.poolId, fileId: ref.fileId, datasetIndex: ref.datasetIndex, blockIndex,
      sequence: ref.sequence, payloadLengthBytes: data.extent.shardBytes, name: ref.name,
    }, data.shards[blockIndex]);
    if (result.status === 'good' && result.header.datasetDataBytes !== data.extent.dataBytes) {
      data.results[blockIndex] = { status: 'corrupt', reason: 'header disagrees with the catalog on the data set size' };
      return;
    }
    if (result.status === 'good' && result.payload.buffer !== data.shards[blockIndex].buffer) {
      result.payload.copy(data.shards[blockIndex]);
    }
    data.results[blockIndex] = result;
  }));
}

export function goodIndexes(data: DatasetBuffers): number[] {
  const good: number[] = [];
  data.results.forEach((r, b) => { if (r?.status === 'good') good.push(b); });
  return good;
}
