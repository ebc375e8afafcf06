import { dataLostError } from '../../rain-error.js';
import { writeFullyAt } from '../../store/inline-io.js';
import type { DatasetRef, DecodeResult, DecodeSink } from '../protocol.js';
import type { WorkerContext } from '../worker-context.js';
import type { OutputTurns, SharedStdout } from './output-turns.js';
import { allocateDataset, goodIndexes, readBlocksInto } from './read-blocks.js';

/**
 * Reads a data set for `get`: the k data blocks first (no decoding on the healthy path); when any
 * is missing or fails its checksum, the parity blocks are read and the data reconstructed (M8).
 * The bytes go straight into the destination file at their offset, or onto standard output in
 * their turn.
 */
export async function decodeDataset(
  ctx: WorkerContext,
  ref: DatasetRef,
  sink: DecodeSink,
  stdout: { turns: OutputTurns; shared: SharedStdout },
): Promise<DecodeResult> {
  const data = allocateDataset(ctx, ref);
  try {
    const dataIndexes = Array.from({ length: ref.k }, (_, b) => b);
    await readBlocksInto(ctx, ref, data, dataIndexes);
    const missingData = dataIndexes.filter((b) => data.results[b]?.status !== 'good');
    const reconstructed: number[] = [];
    if (missingData.length > 0) {
      const parityIndexes = Array.from({ length: ref.m }, (_, r) => ref.k + r);
      await readBlocksInto(ctx, ref, data, parityIndexes);
      const good = goodIndexes(data);
      if (good.length < ref.k) {
        throw dataLostError(`${ref.name}: data set ${ref.datasetIndex} has only ${good.length} good blocks of the ${ref.k} needed`);
      }
      const present = data.results.map((r) => r?.status === 'good');
      ctx.codec(ref.k, ref.m).reconstruct(data.shards, present, missingData);
      reconstructed.push(...missingData);
    }
    const badBlocks = data.results.flatMap((r, blockIndex) => (r && r.status !== 'good'
      ? [{ blockIndex, slot: ref.placement[blockIndex], status: r.status, detail: r.status === 'corrupt' ? r.reason : undefined }]
      : []));
    const bytes = data.buffer.subarray(0, data.extent.dataBytes);
    if (sink.kind === 'file') {
      await writeFullyAt(ctx.descriptor(sink.path, 'r+'), bytes, 0, bytes.length, data.extent.fileOffsetBytes);
      return { datasetIndex: ref.datasetIndex, reconstructed, badBlocks };
    }
    await stdout.turns.wait(sink.stream, ref.datasetIndex);
    await stdout.shared.write(bytes);
    return { datasetIndex: ref.datasetIndex, reconstructed, badBlocks };
  } finally {
    ctx.giveBuffer(data.buffer);
  }
}
