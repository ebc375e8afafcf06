import { datasetExtent, type DatasetExtent } from '../format/dataset-geometry.js';
import { errnoCode } from '../rain-error.js';
import type { BlockReadResult, ExpectedBlock } from '../store/block-files.js';
import type { DatasetContext } from './dataset-context.js';
import type { DatasetRef } from './dataset-ref.js';

export interface DatasetBuffers {
  readonly extent: DatasetExtent;
  readonly buffer: Buffer;
  /** shards[b] views `buffer`; valid bytes only where results[b].status === 'good'. */
  readonly shards: Buffer[];
  readonly results: (BlockReadResult | undefined)[];
  /** Good blocks checked on their own host whose bytes were not fetched (their shard is not filled). */
  readonly verifiedElsewhere: Set<number>;
}

export function extentOf(ref: DatasetRef): DatasetExtent {
  return datasetExtent({ fileSizeBytes: ref.fileSizeBytes, k: ref.k, blockSizeBytes: ref.blockSizeBytes }, ref.datasetIndex);
}

export function allocateDataset(ctx: DatasetContext, ref: DatasetRef): DatasetBuffers {
  const extent = extentOf(ref);
  const width = ref.k + ref.m;
  const buffer = ctx.takeBuffer(width * extent.shardBytes);
  const shards = Array.from({ length: width }, (_, b) => buffer.subarray(b * extent.shardBytes, (b + 1) * extent.shardBytes));
  return { extent, buffer, shards, results: new Array<BlockReadResult | undefined>(width).fill(undefined), verifiedElsewhere: new Set() };
}

function expectedBlock(ref: DatasetRef, data: DatasetBuffers, blockIndex: number): ExpectedBlock {
  return {
    poolId: ref.poolId, fileId: ref.fileId, datasetIndex: ref.datasetIndex, blockIndex,
    sequence: ref.sequence, payloadLengthBytes: data.extent.shardBytes, name: ref.name,
  };
}

/** A read or verify that threw: only a store on another host fails so (its connection dropped), and is read around. */
function failedCall(error: unknown): BlockReadResult {
  return errnoCode(error) === 'ERAINREMOTE' ? { status: 'missing' } : { status: 'corrupt', reason: `unreadable: ${error instanceof Error ? error.message : String(error)}` };
}

/** Reads (and checks) the given blocks in parallel into their shard buffers. */
export async function readBlocksInto(ctx: DatasetContext, ref: DatasetRef, data: DatasetBuffers, blockIndexes: readonly number[]): Promise<void> {
  await Promise.all(blockIndexes.map(async (blockIndex) => {
    const slot = ctx.storeOf(ref.placement[blockIndex]);
    if (!slot.readable) {
      data.results[blockIndex] = { status: 'missing' };
      return;
    }
    let result: BlockReadResult;
    try {
      result = await slot.store.readBlock(expectedBlock(ref, data, blockIndex), data.shards[blockIndex]);
    } catch (error) {
      data.results[blockIndex] = failedCall(error);
      return;
    }
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

/**
 * Has the given blocks checked where they live, without moving their bytes: a block on another
 * host is read and checksummed by that host's worker. Good ones are marked verifiedElsewhere.
 */
export async function verifyBlocksInPlace(ctx: DatasetContext, ref: DatasetRef, data: DatasetBuffers, blockIndexes: readonly number[]): Promise<void> {
  await Promise.all(blockIndexes.map(async (blockIndex) => {
    const slot = ctx.storeOf(ref.placement[blockIndex]);
    if (!slot.readable) {
      data.results[blockIndex] = { status: 'missing' };
      return;
    }
    let verdict;
    try {
      verdict = await slot.store.verifyBlock(expectedBlock(ref, data, blockIndex));
    } catch (error) {
      data.results[blockIndex] = failedCall(error);
      return;
    }
    if (verdict.status === 'good' && verdict.header.datasetDataBytes !== data.extent.dataBytes) {
      data.results[blockIndex] = { status: 'corrupt', reason: 'header disagrees with the catalog on the data set size' };
      return;
    }
    if (verdict.status === 'good') {
      data.results[blockIndex] = { status: 'good', header: verdict.header, payload: data.shards[blockIndex] };
      data.verifiedElsewhere.add(blockIndex);
      return;
    }
    data.results[blockIndex] = verdict;
  }));
}

/** Fetches the bytes of good blocks that were only verified in place, until `needed` good blocks hold bytes. */
export async function fetchVerifiedBytes(ctx: DatasetContext, ref: DatasetRef, data: DatasetBuffers, needed: number): Promise<void> {
  const withBytes = goodIndexes(data).filter((b) => !data.verifiedElsewhere.has(b)).length;
  const toFetch = [...data.verifiedElsewhere].slice(0, Math.max(0, needed - withBytes));
  for (const b of toFetch) data.verifiedElsewhere.delete(b);
  await readBlocksInto(ctx, ref, data, toFetch);
}

/** The CRC-32 of each good block's payload, from its verified header (undefined where not good). */
export function payloadCrcs(data: DatasetBuffers): (number | undefined)[] {
  return data.results.map((r) => (r?.status === 'good' ? r.header.payloadCrc32 : undefined));
}

export function goodIndexes(data: DatasetBuffers): number[] {
  const good: number[] = [];
  data.results.forEach((r, b) => { if (r?.status === 'good') good.push(b); });
  return good;
}
