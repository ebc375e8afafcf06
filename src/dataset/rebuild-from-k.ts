import { dataChecksum, paddingIsZero } from './arbiter.js';
import type { DatasetContext } from './dataset-context.js';
import type { DatasetRef } from './dataset-ref.js';
import { allocateDataset, payloadCrcs, readBlocksInto } from './read-blocks.js';
import type { BlockVerdict, CheckResult } from './results.js';
import { rewriteBlocks } from './rewrite-blocks.js';

/**
 * The rebuild of a data set some of whose blocks belong on stores known to hold nothing (rebuild
 * re-created them empty, or --replace put a new directory in their place): instead of reading
 * every block, it reads k of the others (data blocks first), decodes what is missing, and takes
 * the result only if the data is the data set checksum of the catalog (docs/FORMAT.md §5). Then
 * it writes, and reads back, the blocks of the lost stores alone. The blocks it did not read are
 * reported `unread`, never good: restoring redundancy is not a scrub.
 *
 * Returns undefined, having written nothing, whenever this shortcut does not settle the data set:
 * a block that reads bad, bytes that disagree with the checksum, no checksum in the catalog, a
 * store on another host, a lost store that cannot be written, or blocks at other sequences than
 * this one (which a listing must find). The caller then runs the full check of the data set
 * (check.ts), which classifies every block and locates the wrong ones.
 */
export async function rebuildFromK(
  ctx: DatasetContext, ref: DatasetRef, lostSlots: ReadonlySet<number>,
): Promise<(CheckResult & { readonly toConfirm: boolean }) | undefined> {
  const width = ref.k + ref.m;
  const all = Array.from({ length: width }, (_, b) => b);
  const lost = all.filter((b) => lostSlots.has(ref.placement[b]));
  if (lost.length === 0 || ref.dataChecksum === undefined || ref.soleSequence !== true) return undefined;
  if (all.some((b) => ctx.storeOf(ref.placement[b]).store.remote)) return undefined;
  if (lost.some((b) => !ctx.storeOf(ref.placement[b]).writable)) return undefined;
  // Data blocks first: when they are all there, nothing is decoded and their CRCs give the checksum.
  const sources = all.filter((b) => !lost.includes(b) && ctx.storeOf(ref.placement[b]).readable).slice(0, ref.k);
  if (sources.length < ref.k) return undefined;
  const data = allocateDataset(ctx, ref);
  try {
    await readBlocksInto(ctx, ref, data, sources);
    if (sources.some((b) => data.results[b]?.status !== 'good')) return undefined;
    const present = all.map((b) => sources.includes(b));
    const missingData = all.filter((b) => b < ref.k && !present[b]);
    const wanted = [...new Set([...missingData, ...lost])].sort((a, b) => a - b);
    ctx.codec(ref.k, ref.m).reconstruct(data.shards, present, wanted);
    const crcs = payloadCrcs(data).map((crc, b) => (sources.includes(b) ? crc : undefined));
    const checksum = dataChecksum({ k: ref.k, dataBytes: data.extent.dataBytes }, data.shards.slice(0, ref.k), crcs);
    if (checksum !== ref.dataChecksum || !paddingIsZero({ k: ref.k, dataBytes: data.extent.dataBytes }, data.shards)) return undefined;
    const outcome = await rewriteBlocks(ctx, ref, data, lost);
    const blocks: BlockVerdict[] = [
      ...sources.map((blockIndex): BlockVerdict => ({ blockIndex, slot: ref.placement[blockIndex], status: 'good', newerPresent: false })),
      ...lost.map((blockIndex): BlockVerdict => ({ blockIndex, slot: ref.placement[blockIndex], status: 'missing', newerPresent: false })),
    ].sort((a, b) => a.blockIndex - b.blockIndex);
    return {
      datasetIndex: ref.datasetIndex, blocks, goodCount: sources.length, recoverable: true, dataChecksum: checksum, toConfirm: true,
      unread: all.filter((b) => !sources.includes(b) && !lost.includes(b)), ...outcome,
    };
  } finally {
    ctx.giveBuffer(data.buffer);
  }
}
