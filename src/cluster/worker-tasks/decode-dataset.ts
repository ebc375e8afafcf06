import { arbitrate, type ArbiterVerdict } from '../../dataset/arbiter.js';
import { dataLostError } from '../../rain-error.js';
import { writeFullyAt } from '../../store/inline-io.js';
import type { DatasetRef, DecodeResult, DecodeSink } from '../protocol.js';
import type { WorkerContext } from '../worker-context.js';
import type { OutputTurns, SharedStdout } from './output-turns.js';
import { allocateDataset, payloadCrcs, readBlocksInto, type DatasetBuffers } from './read-blocks.js';

/**
 * Reads a data set for `get`: the k data blocks first. When they read good and their CRCs
 * combine to the data set checksum in the catalog, that is the data (no decoding, no extra pass
 * over the bytes). When a data block is missing or bad, or the checksum disagrees (a block that
 * passed its own CRC but holds the wrong bytes), the parity blocks are read and the arbiter
 * (dataset/arbiter.ts) finds k blocks that decode to the checksum (M8). Bytes are returned only
 * once verified; when no such k blocks exist the data set is lost (exit 2), never returned wrong.
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
  let scratch: Buffer | undefined;
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
    if (scratch) ctx.giveBuffer(scratch);
  }
}

/** The arbiter over whatever blocks have been read so far (a block not read counts as not good). */
function judge(ctx: WorkerContext, ref: DatasetRef, data: DatasetBuffers, takeScratch: () => Buffer): ArbiterVerdict {
  return arbitrate({
    k: ref.k, m: ref.m, dataBytes: data.extent.dataBytes, shards: data.shards,
    good: data.results.map((r) => r?.status === 'good'), payloadCrcs: payloadCrcs(data),
    expectedChecksum: ref.dataChecksum, wantParity: false, codec: ctx.codec(ref.k, ref.m), scratch: takeScratch(),
  });
}
