import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { BlockListings, checkDataset } from '../../src/dataset/check.js';
import { makeDatasetRef, type DatasetRef } from '../../src/dataset/dataset-ref.js';
import { encodeDataset } from '../../src/dataset/encode.js';
import type { CatalogRecord } from '../../src/format/catalog-record.js';
import { datasetCountOf } from '../../src/format/dataset-geometry.js';
import { newId } from '../../src/format/ids.js';
import type { BlockReadResult, ExpectedBlock } from '../../src/store/block-files.js';
import { LocalStore } from '../../src/store/local-store.js';
import { seededBytes } from '../helpers/rain-cli.js';
import { TestDatasetContext } from '../helpers/dataset-context.js';

/**
 * A rebuild of a store known to hold nothing (dataset/rebuild-from-k.ts), in-process over real
 * directories: it reads k blocks per data set, writes only the lost ones, and whatever disagrees
 * is left to the full check, which finds and repairs it as before.
 */
const K = 4;
const M = 2;
const BLOCK = 4096;
const SLOTS = [0, 1, 2, 3, 4, 5];

/** A LocalStore that counts the blocks read from it. */
class CountingStore extends LocalStore {
  reads = 0;

  override readBlock(expected: ExpectedBlock, into?: Buffer): Promise<BlockReadResult> {
    this.reads++;
    return super.readBlock(expected, into);
  }
}

class TestContext extends TestDatasetContext<CountingStore> {
  constructor(dirs: string[]) {
    super(dirs, K, M, (dir) => new CountingStore(dir));
  }

  resetReads(): void {
    for (const s of this.stores) s.store.reads = 0;
  }
}

describe('rebuild of a lost store from k blocks per data set', () => {
  let root: string;
  let ctx: TestContext;
  const content = seededBytes(3 * K * BLOCK + 1000, 91); // three full data sets and a short one
  const lostSlot = 0;
  const lost = new Set([lostSlot]);

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'rain-rebuild-k-'));
    const dirs = await Promise.all(SLOTS.map(async (slot) => {
      const dir = path.join(root, `s${slot}`);
      await fs.mkdir(dir);
      return dir;
    }));
    ctx = new TestContext(dirs);
  });
  afterEach(async () => fs.rm(root, { recursive: true, force: true }));

  async function put(bytes: Buffer): Promise<CatalogRecord> {
    const record: CatalogRecord = {
      name: 'f.bin', fileId: newId(), sequence: 100n, deleted: false, fileSizeBytes: bytes.length, k: K, m: M, blockSizeBytes: BLOCK,
      datasetCount: datasetCountOf({ fileSizeBytes: bytes.length, k: K, blockSizeBytes: BLOCK }), writtenAt: 'now', datasetChecksums: [],
    };
    const checksums: number[] = [];
    for (let d = 0; d < record.datasetCount; d++) {
      const result = await encodeDataset(ctx, makeDatasetRef(ctx.poolId, record, d, SLOTS), async (into, length, position) => bytes.copy(into, 0, position, position + length));
      checksums.push(result.dataChecksum);
    }
    await ctx.flush();
    return { ...record, datasetChecksums: checksums };
  }

  /** As a rebuild's plan makes them: the scans saw one sequence of the file. */
  const refsOf = (record: CatalogRecord): DatasetRef[] => Array.from({ length: record.datasetCount }, (_, d) => makeDatasetRef(ctx.poolId, record, d, SLOTS, true));

  function blockFile(ref: DatasetRef, blockIndex: number): string {
    return path.join(ctx.dirs[ref.placement[blockIndex]], 'blocks', ref.fileId.slice(0, 2), ref.fileId, `${ref.datasetIndex}.${blockIndex}.${ref.sequence}.blk`);
  }

  /** Every block file of the lost store goes (its directories stay, as a re-created store's layout would be). */
  async function emptyLostStore(): Promise<void> {
    const entries = await fs.readdir(path.join(ctx.dirs[lostSlot], 'blocks'), { recursive: true, withFileTypes: true });
    for (const entry of entries) if (entry.isFile()) await fs.rm(path.join(entry.parentPath, entry.name));
  }

  const readBack = (record: CatalogRecord): Promise<Buffer> => ctx.readBack(refsOf(record), record.fileSizeBytes);

  it('reads k blocks of each data set on the other stores, writes only the lost block, and reports the rest unread', async () => {
    const record = await put(content);
    await emptyLostStore();
    for (const ref of refsOf(record)) {
      ctx.resetReads();
      const result = await checkDataset(ctx, ref, { repair: true, collectOlder: true, lostSlots: lost }, new BlockListings());
      const lostBlock = ref.placement.indexOf(lostSlot);
      const readElsewhere = ctx.stores.filter((s) => s.slot !== lostSlot).reduce((sum, s) => sum + s.store.reads, 0);
      expect(result.unrepaired).toEqual([]);
      expect({ d: ref.datasetIndex, readElsewhere, good: result.goodCount, unread: result.unread?.length, repaired: result.repaired, recoverable: result.recoverable })
        .toEqual({ d: ref.datasetIndex, readElsewhere: K, good: K, unread: M - 1, repaired: [lostBlock], recoverable: true });
      expect(ctx.stores[lostSlot].store.reads).toBe(1); // the rewritten block, read back
      expect(result.blocks.find((b) => b.blockIndex === lostBlock)?.status).toBe('missing');
      expect(result.blocks.some((b) => result.unread?.includes(b.blockIndex))).toBe(false);
    }
    // A full check finds every block good again, and the file reads back.
    for (const ref of refsOf(record)) {
      expect((await checkDataset(ctx, ref, { repair: false, collectOlder: false }, new BlockListings())).goodCount).toBe(K + M);
    }
    expect((await readBack(record)).equals(content)).toBe(true);
  });

  it('a corrupt surviving data block is caught: the full check reports it and repairs it with the lost one', async () => {
    const record = await put(content);
    await emptyLostStore();
    const [ref] = refsOf(record);
    const lostBlock = ref.placement.indexOf(lostSlot);
    const victim = [0, 1, 2, 3].find((b) => b !== lostBlock) as number;
    const bytes = await fs.readFile(blockFile(ref, victim));
    bytes[bytes.length - 10] ^= 0xff;
    await fs.writeFile(blockFile(ref, victim), bytes);
    const result = await checkDataset(ctx, ref, { repair: true, collectOlder: true, lostSlots: lost }, new BlockListings());
    expect(result.unread).toBeUndefined(); // the full check read every block
    expect(result.blocks.find((b) => b.blockIndex === victim)?.status).toBe('corrupt');
    expect(result.unrepaired).toEqual([]);
    expect(result.repaired).toEqual([lostBlock, victim].sort((a, b) => a - b));
    expect((await checkDataset(ctx, ref, { repair: false, collectOlder: false }, new BlockListings())).goodCount).toBe(K + M);
  });

  it('blocks that disagree with the data set checksum are never used to rebuild: the full check decides, and writes nothing it cannot verify', async () => {
    const record = await put(content);
    await emptyLostStore();
    const [ref] = refsOf(record);
    const wrong: DatasetRef = { ...ref, dataChecksum: ((ref.dataChecksum ?? 0) ^ 1) >>> 0 };
    const result = await checkDataset(ctx, wrong, { repair: true, collectOlder: true, lostSlots: lost }, new BlockListings());
    expect(result.unread).toBeUndefined();
    expect({ recoverable: result.recoverable, repaired: result.repaired }).toEqual({ recoverable: false, repaired: [] });
    await expect(fs.access(blockFile(ref, ref.placement.indexOf(lostSlot)))).rejects.toThrow();
  });
});
