import type { BlockHeader } from '../../format/block-header.js';
import { crc32Of } from '../../format/checksum.js';
import { listFileBlocks, readBlock, removeBlock, verifyBlock, writeBlock, type BlockHeaderInput } from '../../store/block-files.js';
import type { BlockFileKey } from '../../store/store-layout.js';
import { describeError } from '../../rain-error.js';
import type { BlockVerdict, CheckResult, DatasetRef } from '../protocol.js';
import type { WorkerContext } from '../worker-context.js';
import { isDirectStore } from '../../store/store-router.js';
import { allocateDataset, fetchVerifiedBytes, readBlocksInto, verifyBlocksInPlace, type DatasetBuffers } from './read-blocks.js';

/**
 * The consistency check of one data set by its responsible worker (M5, M7): classify every block,
 * check the good ones agree (parity recomputed from data equals stored parity), and with `repair`
 * reconstruct every block that is not good, write it, read it back, and drop stale versions.
 */
export interface CheckOptions {
  readonly repair: boolean;
  /**
   * Remove older sequences of each block once this one is complete. Only for the committed
   * version: while rolling an uncommitted version forward, the older one is still what readers see.
   */
  readonly collectOlder: boolean;
}

export async function checkDataset(ctx: WorkerContext, ref: DatasetRef, options: CheckOptions, listings: BlockListings): Promise<CheckResult> {
  const { repair } = options;
  const data = allocateDataset(ctx, ref);
  try {
    const width = ref.k + ref.m;
    const all = Array.from({ length: width }, (_, b) => b);
    // Blocks on another host are checked there; their bytes travel only if a repair needs them.
    const here = all.filter((b) => isDirectStore(ctx.store(ref.placement[b]).path));
    const elsewhere = all.filter((b) => !here.includes(b));
    await Promise.all([readBlocksInto(ctx, ref, data, here), verifyBlocksInPlace(ctx, ref, data, elsewhere)]);
    const parityMismatch = findParityMismatch(ctx, ref, data);
    // Listing the file's directory on every store finds stale, newer and older versions; when the
    // scans saw none and every block read good, the listing would only confirm this sequence.
    const listed = !ref.soleSequence || all.some((b) => data.results[b]?.status !== 'good');
    const onStore = listed ? await Promise.all(all.map((b) => listings.versionsOf(ctx, ref, b))) : all.map(() => [ref.sequence]);

    const blocks: BlockVerdict[] = all.map((blockIndex) => {
      const slot = ref.placement[blockIndex];
      const versions = onStore[blockIndex];
      const newerPresent = versions.some((s) => s > ref.sequence);
      const read = data.results[blockIndex];
      if (read?.status === 'good') {
        return parityMismatch.has(blockIndex)
          ? { blockIndex, slot, status: 'corrupt', detail: 'parity disagrees with the data blocks', newerPresent }
          : { blockIndex, slot, status: 'good', newerPresent };
      }
      if (read?.status === 'corrupt') return { blockIndex, slot, status: 'corrupt', detail: read.reason, newerPresent };
      if (versions.some((s) => s < ref.sequence)) return { blockIndex, slot, status: 'stale', newerPresent };
      return { blockIndex, slot, status: 'missing', newerPresent };
    });
    const goodCount = blocks.filter((b) => b.status === 'good').length;
    const result = { datasetIndex: ref.datasetIndex, blocks, goodCount, recoverable: goodCount >= ref.k };
    if (!repair || goodCount === width || goodCount < ref.k) {
      if (repair && goodCount === width && options.collectOlder) await dropOlderVersions(ctx, ref, onStore);
      return { ...result, repaired: [], unrepaired: [] };
    }
    const outcome = await repairBlocks(ctx, ref, data, blocks);
    if (outcome.unrepaired.length === 0 && options.collectOlder) await dropOlderVersions(ctx, ref, onStore);
    return { ...result, ...outcome };
  } finally {
    ctx.giveBuffer(data.buffer);
  }
}

/** With all data blocks good, every good parity block must equal the parity recomputed from them. */
function findParityMismatch(ctx: WorkerContext, ref: DatasetRef, data: DatasetBuffers): Set<number> {
  const mismatched = new Set<number>();
  // Parity is recomputed only from data blocks whose bytes are here; blocks verified on their own
  // host were checked against their own checksum there (docs/PROTOCOL.md, "Stores on other hosts").
  for (let b = 0; b < ref.k; b++) if (data.results[b]?.status !== 'good' || data.verifiedElsewhere.has(b)) return mismatched;
  const shardBytes = data.extent.shardBytes;
  // A reused scratch area: a fresh megabyte per data set would be a fresh mmap and page faults.
  const scratch = ctx.takeBuffer(ref.m * shardBytes);
  try {
    const expected = Array.from({ length: ref.m }, (_, r) => scratch.subarray(r * shardBytes, (r + 1) * shardBytes));
    ctx.codec(ref.k, ref.m).encode(data.shards.slice(0, ref.k), expected);
    for (let r = 0; r < ref.m; r++) {
      const b = ref.k + r;
      if (data.results[b]?.status === 'good' && !data.verifiedElsewhere.has(b) && !expected[r].equals(data.shards[b])) mismatched.add(b);
    }
  } finally {
    ctx.giveBuffer(scratch);
  }
  return mismatched;
}

async function repairBlocks(
  ctx: WorkerContext, ref: DatasetRef, data: DatasetBuffers, blocks: readonly BlockVerdict[],
): Promise<Pick<CheckResult, 'repaired' | 'unrepaired'>> {
  await fetchVerifiedBytes(ctx, ref, data, ref.k);
  const present = blocks.map((b) => b.status === 'good' && data.results[b.blockIndex]?.status === 'good' && !data.verifiedElsewhere.has(b.blockIndex));
  const wanted = blocks.filter((b) => b.status !== 'good').map((b) => b.blockIndex);
  if (present.filter(Boolean).length < ref.k) {
    return { repaired: [], unrepaired: wanted.map((blockIndex) => ({ blockIndex, reason: 'too few good blocks could be fetched to rebuild it' })) };
  }
  // Reconstruct from the good blocks only; a stored parity that disagreed must not feed the decoder.
  ctx.codec(ref.k, ref.m).reconstruct(data.shards, present, wanted);
  const repaired: number[] = [];
  const unrepaired: { blockIndex: number; reason: string }[] = [];
  await Promise.all(wanted.map(async (blockIndex) => {
    const store = ctx.store(ref.placement[blockIndex]);
    if (!store.writable) {
      unrepaired.push({ blockIndex, reason: `store ${store.slot} is not writable` });
      return;
    }
    const payload = data.shards[blockIndex];
    const header: BlockHeaderInput = {
      poolId: ref.poolId, fileId: ref.fileId, name: ref.name, sequence: ref.sequence, fileSizeBytes: ref.fileSizeBytes,
      k: ref.k, m: ref.m, blockIndex, datasetIndex: ref.datasetIndex, datasetCount: ref.datasetCount,
      blockSizeBytes: ref.blockSizeBytes, payloadLengthBytes: payload.length, datasetDataBytes: data.extent.dataBytes,
    };
    try {
      await writeBlock(store.path, header, payload, ctx.directorySync);
      const expected = { ...header, payloadLengthBytes: payload.length };
      // A block written to another host is read back there; its checksum must be the one we wrote.
      const readsBack = isDirectStore(store.path)
        ? await readBlock(store.path, expected).then((r) => r.status === 'good' && r.payload.equals(payload))
        : await verifyBlock(store.path, expected).then((r) => r.status === 'good' && r.header.payloadCrc32 === header.payloadCrc32);
      if (!readsBack) throw new Error('the rewritten block does not read back');
      repaired.push(blockIndex);
    } catch (error) {
      unrepaired.push({ blockIndex, reason: describeError(error) });
    }
  }));
  repaired.sort((a, b) => a - b);
  return { repaired, unrepaired };
}

/** Older sequences of a block are garbage once the current one is complete everywhere. */
async function dropOlderVersions(ctx: WorkerContext, ref: DatasetRef, onStore: readonly bigint[][]): Promise<void> {
  await Promise.all(onStore.map(async (versions, blockIndex) => {
    const store = ctx.store(ref.placement[blockIndex]);
    if (!store.writable) return;
    for (const sequence of versions) {
      if (sequence < ref.sequence) {
        await removeBlock(store.path, ref.fileId, { datasetIndex: ref.datasetIndex, blockIndex, sequence });
      }
    }
  }));
}

/** Directory listings of a file's blocks per store, taken once per file and reused across its data sets. */
export class BlockListings {
  private readonly cache = new Map<string, Promise<BlockFileKey[]>>();

  async versionsOf(ctx: WorkerContext, ref: DatasetRef, blockIndex: number): Promise<bigint[]> {
    const store = ctx.store(ref.placement[blockIndex]);
    if (!store.readable) return [];
    const key = `${store.slot}/${ref.fileId}`;
    let listing = this.cache.get(key);
    if (!listing) {
      if (this.cache.size > 64) this.cache.clear();
      listing = listFileBlocks(store.path, ref.fileId).catch(() => []);
      this.cache.set(key, listing);
    }
    const keys = await listing;
    return keys.filter((k) => k.datasetIndex === ref.datasetIndex && k.blockIndex === blockIndex).map((k) => k.sequence);
  }

  forget(): void {
    this.cache.clear();
  }
}
