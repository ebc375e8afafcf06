import { describeStoreError } from '../rain-error.js';
import type { BlockHeaderInput, ExpectedBlock } from '../store/block-files.js';
import type { Store } from '../store/store.js';
import type { DatasetContext } from './dataset-context.js';
import type { DatasetRef } from './dataset-ref.js';
import type { DatasetBuffers } from './read-blocks.js';
import type { CheckResult } from './results.js';

/** Writes the verified bytes (filled in by the arbiter) of each block in `wanted`, and reads each back. */
export async function rewriteBlocks(
  ctx: DatasetContext, ref: DatasetRef, data: DatasetBuffers, wanted: readonly number[],
): Promise<Pick<CheckResult, 'repaired' | 'unrepaired'>> {
  const repaired: number[] = [];
  const unrepaired: { blockIndex: number; reason: string }[] = [];
  await Promise.all(wanted.map(async (blockIndex) => {
    const slot = ctx.storeOf(ref.placement[blockIndex]);
    if (!slot.writable) {
      unrepaired.push({ blockIndex, reason: `store ${slot.slot} is ${slot.why ?? 'not writable'}` });
      return;
    }
    const payload = data.shards[blockIndex];
    const header: BlockHeaderInput = {
      poolId: ref.poolId, fileId: ref.fileId, name: ref.name, sequence: ref.sequence, fileSizeBytes: ref.fileSizeBytes,
      k: ref.k, m: ref.m, blockIndex, datasetIndex: ref.datasetIndex, datasetCount: ref.datasetCount,
      blockSizeBytes: ref.blockSizeBytes, payloadLengthBytes: payload.length, datasetDataBytes: data.extent.dataBytes,
    };
    try {
      const payloadCrc32 = await slot.store.writeBlock(header, payload);
      const expected = { ...header, payloadLengthBytes: payload.length };
      // A block written to another host is read back there; its checksum must be the one we wrote.
      const readsBack = slot.store.remote
        ? await slot.store.verifyBlock(expected).then((r) => r.status === 'good' && r.header.payloadCrc32 === payloadCrc32)
        : await readsBackLocally(ctx, slot.store, expected, payload);
      if (!readsBack) throw new Error('the rewritten block does not read back');
      repaired.push(blockIndex);
    } catch (error) {
      unrepaired.push({ blockIndex, reason: `store ${slot.slot}: ${describeStoreError(error)}` });
    }
  }));
  repaired.sort((a, b) => a - b);
  return { repaired, unrepaired };
}

/** Reads a block just written back into a pooled buffer (a fresh one per block costs page faults) and compares. */
async function readsBackLocally(ctx: DatasetContext, store: Store, expected: ExpectedBlock, payload: Buffer): Promise<boolean> {
  const into = ctx.takeBuffer(payload.length);
  try {
    const read = await store.readBlock(expected, into);
    return read.status === 'good' && read.payload.equals(payload);
  } finally {
    ctx.giveBuffer(into);
  }
}
