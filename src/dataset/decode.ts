import { dataLostError } from '../rain-error.js';
import { arbitrate, type ArbiterVerdict } from './arbiter.js';
import type { DatasetContext } from './dataset-context.js';
import type { DatasetRef } from './dataset-ref.js';
import { allocateDataset, payloadCrcs, readBlocksInto, type DatasetBuffers } from './read-blocks.js';
import type { DecodeResult } from './results.js';

/** A decoded data set: its verified file bytes, valid until release() gives the buffer back. */
export interface DecodedDataset {
  readonly bytes: Buffer;
  /** Where the bytes go in the file. */
  readonly fileOffsetBytes: number;
  readonly result: DecodeResult;
  release(): void;
}

/**
 * Reads a data set for `get`: the k data blocks first. When they read good and their CRCs
 * combine to the data set checksum in the catalog, that is the data (no decoding, no extra pass
 * over the bytes). When a data block is missing or bad, or the checksum disagrees (a block that
 * passed its own CRC but holds the wrong bytes), the parity blocks are read and the arbiter
 * (arbiter.ts) finds k blocks that decode to the checksum (M8). Bytes are returned only once
 * verified; when no such k blocks exist the data set is lost (DataLostError), never returned wrong.
 */
export async function decodeDataset(ctx: DatasetContext, ref: DatasetRef): Promise<DecodedDataset> {
  const data = allocateDataset(ctx, ref);
  let scratch: Buffer | undefined;
  const release = (): void => {
    ctx.giveBuffer(data.buffer);
    if (scratch) ctx.giveBuffer(scratch);
    scratch = undefined;
  };
  try {
    const takeScratch = (): Buffer => (scratch ??= ctx.takeBuffer((ref.k + ref.m) * data.extent.shardBytes));
    const dataIndexes = Array.from({ length: ref.k }, (_, b) => b);
    await readBlocksInto(ctx, ref, data, dataIndexes);
    let verdict: ArbiterVerdict | undefined;
    if (dataIndexes.every((b) => data.results[b]?.status === 'good')) {
      verdict = judge(ctx, ref, data, takeScratch);
      if (verdict.kind !== 'verified') verdict = undefined;
    }
    if (verdict === undefined) {
      await readBlocksInto(ctx, ref, data, Array.from({ length: ref.m }, (_, r) => ref.k + r));
      verdict = judge(ctx, ref, data, takeScratch);
    }
    // The verified bytes are in the data set's own buffer now; the scratch area is not needed past here.
    if (scratch) ctx.giveBuffer(scratch);
    scratch = undefined;
    if (verdict.kind !== 'verified') {
      const good = data.results.filter((r) => r?.status === 'good').length;
      throw dataLostError(good < ref.k
        ? `${ref.name}: data set ${ref.datasetIndex} has only ${good} good blocks of the ${ref.k} needed`
        : `${ref.name}: data set ${ref.datasetIndex} cannot be read back: ${verdict.reason}`);
    }
    const wrong = new Set(verdict.wrong);
    const reconstructed = dataIndexes.filter((b) => data.results[b]?.status !== 'good' || wrong.has(b));
    const badBlocks = data.results.flatMap((r, blockIndex) => {
      if (r && r.status !== 'good') return [{ blockIndex, slot: ref.placement[blockIndex], status: r.status, detail: r.status === 'corrupt' ? r.reason : undefined }];
      if (wrong.has(blockIndex)) return [{ blockIndex, slot: ref.placement[blockIndex], status: 'corrupt' as const, detail: 'its bytes disagree with the data set checksum in the catalog' }];
      return [];
    });
    return {
      bytes: data.buffer.subarray(0, data.extent.dataBytes), fileOffsetBytes: data.extent.fileOffsetBytes,
      result: { datasetIndex: ref.datasetIndex, reconstructed, badBlocks }, release,
    };
  } catch (error) {
    release();
    throw error;
  }
}

/** The arbiter over whatever blocks have been read so far (a block not read counts as not good). */
function judge(ctx: DatasetContext, ref: DatasetRef, data: DatasetBuffers, takeScratch: () => Buffer): ArbiterVerdict {
  return arbitrate({
    k: ref.k, m: ref.m, dataBytes: data.extent.dataBytes, shards: data.shards,
    good: data.results.map((r) => r?.status === 'good'), payloadCrcs: payloadCrcs(data),
    expectedChecksum: ref.dataChecksum, wantParity: false, codec: ctx.codec(ref.k, ref.m), scratch: takeScratch(),
  });
}
