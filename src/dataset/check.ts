import type { BlockFileKey } from '../store/store-layout.js';
import { arbitrate, dataChecksum, type ArbiterVerdict } from './arbiter.js';
import type { DatasetContext } from './dataset-context.js';
import type { DatasetRef } from './dataset-ref.js';
import { allocateDataset, fetchVerifiedBytes, payloadCrcs, readBlocksInto, verifyBlocksInPlace, type DatasetBuffers } from './read-blocks.js';
import type { BlockVerdict, CheckResult } from './results.js';
import { rebuildFromK } from './rebuild-from-k.js';
import { rewriteBlocks } from './rewrite-blocks.js';

/**
 * The consistency check of one data set by its responsible worker (M5, M7): classify every block,
 * decide with the data set checksum which blocks to believe (dataset/arbiter.ts), and with
 * `repair` rewrite every block that is not good from the verified data, read it back, and drop
 * stale versions. A result with anything not good carries `toConfirm`: the caller reads the
 * name's record again before reporting it (record-recheck.ts), and a version superseded meanwhile
 * is 'superseded', its repairs undone.
 */
export interface CheckOptions {
  readonly repair: boolean;
  /**
   * Remove older sequences of each block once this one is complete. Only for the committed
   * version: while rolling an uncommitted version forward, the older one is still what readers see.
   */
  readonly collectOlder: boolean;
  /** A reader announced it reads this name: its older blocks stay for a later check. */
  readonly beingRead?: boolean;
  /**
   * Slots of stores known to hold nothing (rebuild re-created or replaced them): a data set with
   * blocks there is first rebuilt from k others (rebuild-from-k.ts), fully checked only if that does not settle it.
   */
  readonly lostSlots?: ReadonlySet<number>;
}

export async function checkDataset(
  ctx: DatasetContext, ref: DatasetRef, options: CheckOptions, listings: BlockListings,
): Promise<CheckResult & { readonly toConfirm: boolean }> {
  const { repair } = options;
  if (repair && options.lostSlots && options.lostSlots.size > 0) {
    const rebuilt = await rebuildFromK(ctx, ref, options.lostSlots);
    if (rebuilt) return rebuilt;
  }
  const data = allocateDataset(ctx, ref);
  let scratch: Buffer | undefined;
  try {
    const width = ref.k + ref.m;
    const all = Array.from({ length: width }, (_, b) => b);
    // Blocks on another host are checked there; their bytes travel only if the verdict needs them.
    const here = all.filter((b) => !ctx.storeOf(ref.placement[b]).store.remote);
    const elsewhere = all.filter((b) => !here.includes(b));
    await Promise.all([readBlocksInto(ctx, ref, data, here), verifyBlocksInPlace(ctx, ref, data, elsewhere)]);
    const verdict = await decide(ctx, ref, data, repair, () => (scratch ??= ctx.takeBuffer(width * data.extent.shardBytes)));
    const wrong = new Set(verdict.kind === 'verified' ? verdict.wrong : []);
    const readGood = (b: number): boolean => data.results[b]?.status === 'good';
    const anyBad = verdict.kind !== 'verified' || all.some((b) => !readGood(b) || wrong.has(b));
    // Listing the file's directory on every store finds stale, newer and older versions; when the
    // scans saw none and every block read good, the listing would only confirm this sequence.
    const listed = !ref.soleSequence || anyBad;
    const onStore = listed ? await Promise.all(all.map((b) => listings.versionsOf(ctx, ref, b))) : all.map(() => [ref.sequence]);
    const disagreement = (blockIndex: number): string => (verdict.kind === 'verified' && verdict.by === 'checksum'
      ? blockIndex < ref.k ? 'its bytes disagree with the data set checksum in the catalog' : 'its bytes disagree with the parity of the verified data'
      : 'its bytes disagree with the other blocks');

    const blocks: BlockVerdict[] = all.map((blockIndex) => {
      const slot = ref.placement[blockIndex];
      const versions = onStore[blockIndex];
      const newerPresent = versions.some((s) => s > ref.sequence);
      const read = data.results[blockIndex];
      if (read?.status === 'good') {
        return wrong.has(blockIndex)
          ? { blockIndex, slot, status: 'corrupt', detail: disagreement(blockIndex), newerPresent }
          : { blockIndex, slot, status: 'good', newerPresent };
      }
      if (read?.status === 'corrupt') return { blockIndex, slot, status: 'corrupt', detail: read.reason, newerPresent };
      if (versions.some((s) => s < ref.sequence)) return { blockIndex, slot, status: 'stale', newerPresent };
      return { blockIndex, slot, status: 'missing', newerPresent };
    });
    const goodCount = blocks.filter((b) => b.status === 'good').length;
    const base = {
      datasetIndex: ref.datasetIndex, blocks, goodCount, recoverable: verdict.kind === 'verified', toConfirm: anyBad,
      ...(verdict.kind === 'verified' ? { dataChecksum: verdict.checksum } : goodCount >= ref.k ? { unverifiable: verdict.reason } : {}),
    };
    if (!repair || goodCount === width || verdict.kind !== 'verified') {
      if (repair && goodCount === width && options.collectOlder && !options.beingRead) await dropOlderVersions(ctx, ref, onStore);
      return { ...base, repaired: [], unrepaired: [] };
    }
    const outcome = await rewriteBlocks(ctx, ref, data, blocks.filter((b) => b.status !== 'good').map((b) => b.blockIndex));
    if (outcome.unrepaired.length === 0 && options.collectOlder && !options.beingRead) await dropOlderVersions(ctx, ref, onStore);
    return { ...base, ...outcome };
  } finally {
    ctx.giveBuffer(data.buffer);
    if (scratch) ctx.giveBuffer(scratch);
  }
}

/**
 * The arbiter's verdict. Blocks checked on another host have no bytes here: when the data blocks
 * read good there and their CRCs combine to the data set checksum, that settles it without moving
 * bytes; otherwise (a block to rewrite, a disagreement to locate) their bytes are fetched first.
 */
async function decide(ctx: DatasetContext, ref: DatasetRef, data: DatasetBuffers, repair: boolean, takeScratch: () => Buffer): Promise<ArbiterVerdict> {
  const width = ref.k + ref.m;
  const good = (b: number): boolean => data.results[b]?.status === 'good';
  const dataElsewhere = Array.from({ length: ref.k }, (_, b) => b).some((b) => data.verifiedElsewhere.has(b));
  if (dataElsewhere) {
    const allDataGood = Array.from({ length: ref.k }, (_, b) => b).every(good);
    const checksum = allDataGood ? dataChecksum({ k: ref.k, dataBytes: data.extent.dataBytes }, data.shards.slice(0, ref.k), payloadCrcs(data).slice(0, ref.k)) : undefined;
    const settled = allDataGood && (ref.dataChecksum === undefined || checksum === ref.dataChecksum);
    const nothingToRewrite = !repair || Array.from({ length: width }, (_, b) => b).every(good);
    if (settled && nothingToRewrite && checksum !== undefined) {
      return { kind: 'verified', by: ref.dataChecksum === undefined ? 'unchecked' : 'checksum', wrong: [], checksum };
    }
    await fetchVerifiedBytes(ctx, ref, data, width);
  }
  return arbitrate({
    k: ref.k, m: ref.m, dataBytes: data.extent.dataBytes, shards: data.shards,
    // A good parity block checked on its own host keeps its place; only blocks with bytes here take part.
    good: data.results.map((r, b) => r?.status === 'good' && !data.verifiedElsewhere.has(b)),
    payloadCrcs: payloadCrcs(data), expectedChecksum: ref.dataChecksum, wantParity: true,
    codec: ctx.codec(ref.k, ref.m), scratch: takeScratch(),
  });
}

/** Older sequences of a block are garbage once the current one is complete everywhere. */
async function dropOlderVersions(ctx: DatasetContext, ref: DatasetRef, onStore: readonly bigint[][]): Promise<void> {
  await Promise.all(onStore.map(async (versions, blockIndex) => {
    const slot = ctx.storeOf(ref.placement[blockIndex]);
    if (!slot.writable) return;
    for (const sequence of versions) {
      if (sequence < ref.sequence) {
        await slot.store.removeBlock(ref.fileId, { datasetIndex: ref.datasetIndex, blockIndex, sequence }).catch(() => undefined);
      }
    }
  }));
}

/** Directory listings of a file's blocks per store, taken once per file and reused across its data sets. */
export class BlockListings {
  private readonly cache = new Map<string, Promise<BlockFileKey[]>>();

  async versionsOf(ctx: DatasetContext, ref: DatasetRef, blockIndex: number): Promise<bigint[]> {
    const slot = ctx.storeOf(ref.placement[blockIndex]);
    if (!slot.readable) return [];
    const key = `${slot.slot}/${ref.fileId}`;
    let listing = this.cache.get(key);
    if (!listing) {
      if (this.cache.size > 64) this.cache.clear();
      listing = slot.store.listFileBlocks(ref.fileId).catch(() => []);
      this.cache.set(key, listing);
    }
    const keys = await listing;
    return keys.filter((k) => k.datasetIndex === ref.datasetIndex && k.blockIndex === blockIndex).map((k) => k.sequence);
  }

  forget(): void {
    this.cache.clear();
  }
}
