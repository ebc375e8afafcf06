import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { BlockListings, checkDataset } from '../../src/dataset/check.js';
import { makeDatasetRef, type DatasetRef } from '../../src/dataset/dataset-ref.js';
import { decodeDataset } from '../../src/dataset/decode.js';
import { encodeDataset } from '../../src/dataset/encode.js';
import { resolveVersion, type VersionPlan } from '../../src/dataset/resolve-version.js';
import { supersededAmong, toConfirm } from '../../src/dataset/verdicts.js';
import type { CatalogRecord } from '../../src/format/catalog-record.js';
import { datasetCountOf } from '../../src/format/dataset-geometry.js';
import { newId } from '../../src/format/ids.js';
import { LocalStore } from '../../src/store/local-store.js';
import { seededBytes } from '../helpers/rain-cli.js';
import { TestDatasetContext } from '../helpers/dataset-context.js';

/**
 * The data set algorithms (src/dataset/) called in-process on real temporary directories, one
 * test per outcome the sequence indicator decides (M5, M7): complete, repaired, lost, rolled
 * forward, rolled back, obsolete, in progress, superseded. No worker process is involved: these
 * are the functions the workers run.
 */
const K = 4;
const M = 2;
const BLOCK = 4096;
const SLOTS = [0, 1, 2, 3, 4, 5];

class TestContext extends TestDatasetContext {
  constructor(dirs: string[]) {
    super(dirs, K, M, (dir) => new LocalStore(dir));
  }
}

describe('the data set algorithms, in-process over real directories', () => {
  let root: string;
  let ctx: TestContext;
  const content = seededBytes(3 * K * BLOCK + 1000, 77); // three full data sets and a short one

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'rain-dataset-'));
    const dirs = await Promise.all(SLOTS.map(async (slot) => {
      const dir = path.join(root, `s${slot}`);
      await fs.mkdir(dir);
      return dir;
    }));
    ctx = new TestContext(dirs);
  });
  afterEach(async () => fs.rm(root, { recursive: true, force: true }));

  function recordOf(bytes: Buffer, sequence: bigint, name = 'f.bin', fileId = newId()): CatalogRecord {
    return {
      name, fileId, sequence, deleted: false, fileSizeBytes: bytes.length, k: K, m: M, blockSizeBytes: BLOCK,
      datasetCount: datasetCountOf({ fileSizeBytes: bytes.length, k: K, blockSizeBytes: BLOCK }), writtenAt: 'now', datasetChecksums: [],
    };
  }

  /** Encodes every data set of `bytes` as `record` describes it; returns the record with its checksums. */
  async function put(bytes: Buffer, record: CatalogRecord): Promise<CatalogRecord> {
    const checksums: number[] = [];
    for (let d = 0; d < record.datasetCount; d++) {
      const result = await encodeDataset(ctx, makeDatasetRef(ctx.poolId, record, d, SLOTS), async (into, length, position) => bytes.copy(into, 0, position, position + length));
      expect(result.written).toHaveLength(K + M);
      checksums.push(result.dataChecksum);
    }
    await ctx.flush();
    return { ...record, datasetChecksums: checksums };
  }

  const refsOf = (record: CatalogRecord): DatasetRef[] => Array.from({ length: record.datasetCount }, (_, d) => makeDatasetRef(ctx.poolId, record, d, SLOTS));

  async function blockFile(ref: DatasetRef, blockIndex: number): Promise<string> {
    const dir = path.join(ctx.dirs[ref.placement[blockIndex]], 'blocks', ref.fileId.slice(0, 2), ref.fileId);
    return path.join(dir, `${ref.datasetIndex}.${blockIndex}.${ref.sequence}.blk`);
  }

  const readBack = (record: CatalogRecord): Promise<Buffer> => ctx.readBack(refsOf(record), record.fileSizeBytes);

  it('complete: every block of every data set reads good; decode returns the bytes', async () => {
    const record = await put(content, recordOf(content, 100n));
    for (const ref of refsOf(record)) {
      const result = await checkDataset(ctx, ref, { repair: false, collectOlder: false }, new BlockListings());
      expect({ d: ref.datasetIndex, good: result.goodCount, recoverable: result.recoverable, toConfirm: result.toConfirm }).toEqual({ d: ref.datasetIndex, good: K + M, recoverable: true, toConfirm: false });
    }
    expect((await readBack(record)).equals(content)).toBe(true);
  });

  it('encode with the previous checksum: unchanged bytes are read and kept (no block written), changed ones encoded; the mix reads back', async () => {
    const v1 = await put(content, recordOf(content, 1n));
    const changed = Buffer.from(content);
    changed[K * BLOCK + 5] ^= 0xff; // in data set 1
    const v2 = recordOf(changed, 2n, 'f.bin', v1.fileId);
    const results = [];
    for (const ref of refsOf(v2)) {
      results.push(await encodeDataset(ctx, ref, async (into, length, position) => changed.copy(into, 0, position, position + length), v1.datasetChecksums[ref.datasetIndex]));
    }
    await ctx.flush();
    expect(results.map((r) => [r.kept === true, r.written.length, r.sourceBytesRead])).toEqual([[true, 0, K * BLOCK], [false, K + M, K * BLOCK], [true, 0, K * BLOCK], [true, 0, 1000]]);
    await expect(fs.access(await blockFile(refsOf(v2)[0], 0))).rejects.toThrow();
    const mixed: CatalogRecord = { ...v2, datasetSequences: [1n, 2n, 1n, 1n], datasetChecksums: results.map((r) => r.dataChecksum) };
    expect(mixed.datasetChecksums.filter((c, d) => c !== v1.datasetChecksums[d])).toHaveLength(1);
    expect((await readBack(mixed)).equals(changed)).toBe(true);
  });

  it('repaired: a missing and a forged block are rebuilt from verified data and read back good', async () => {
    const record = await put(content, recordOf(content, 100n));
    const [ref] = refsOf(record);
    await fs.rm(await blockFile(ref, 1));
    const forged = await blockFile(ref, K);
    const bytes = await fs.readFile(forged);
    bytes[bytes.length - 1] ^= 1; // and its own CRCs no longer match: corrupt by its own checks
    await fs.writeFile(forged, bytes);
    const result = await checkDataset(ctx, ref, { repair: true, collectOlder: true }, new BlockListings());
    expect(result.repaired).toEqual([1, K]);
    expect(result.toConfirm).toBe(true);
    const again = await checkDataset(ctx, ref, { repair: false, collectOlder: false }, new BlockListings());
    expect(again.goodCount).toBe(K + M);
  });

  it('lost: more than m blocks gone, nothing rewritten', async () => {
    const record = await put(content, recordOf(content, 100n));
    const [, ref] = refsOf(record);
    for (const b of [0, 1, 2]) await fs.rm(await blockFile(ref, b));
    const result = await checkDataset(ctx, ref, { repair: true, collectOlder: true }, new BlockListings());
    expect({ recoverable: result.recoverable, repaired: result.repaired }).toEqual({ recoverable: false, repaired: [] });
    await expect(decodeDataset(ctx, ref)).rejects.toThrow(/has only 3 good blocks of the 4 needed/);
  });

  function plan(overrides: Partial<VersionPlan> = {}): VersionPlan {
    return { poolSlots: SLOTS, repair: true, isLive: () => false, isWriterAhead: () => false, newestSequenceOf: async () => 100n, isRead: () => false, ...overrides };
  }

  it('rolled forward: an unfinished version with k blocks of every data set is finished and committed', async () => {
    const old = await put(content, recordOf(content, 100n));
    const newer = seededBytes(content.length - 5000, 78);
    const unfinished = recordOf(newer, 200n, old.name, old.fileId);
    await put(newer, unfinished);
    for (const ref of refsOf(unfinished)) await fs.rm(await blockFile(ref, 2)); // one block of each data set never landed
    const report = await resolveVersion(ctx, plan(), { fileId: old.fileId, sequence: 200n, slots: SLOTS }, new BlockListings());
    expect(report.outcome).toBe('rolled-forward');
    const committed = (await ctx.stores[0].store.scanCatalog()).records.find((r) => r.name === old.name);
    expect(committed?.sequence).toBe(200n);
    expect(committed?.datasetChecksums).toHaveLength(unfinished.datasetCount);
    expect((await readBack(committed as CatalogRecord)).equals(newer)).toBe(true);
    // The older version's blocks are gone.
    expect((await ctx.stores[0].store.listFileBlocks(old.fileId)).every((key) => key.sequence === 200n)).toBe(true);
  });

  it('rolled back: an unfinished version short of k blocks is removed; the committed one stays', async () => {
    const old = await put(content, recordOf(content, 100n));
    const unfinished = recordOf(content, 200n, old.name, old.fileId);
    await put(content, unfinished);
    const [first] = refsOf(unfinished);
    for (const b of [0, 1, 2]) await fs.rm(await blockFile(first, b));
    await ctx.stores[0].store.writeCatalogRecord(old);
    await ctx.stores[0].store.flush();
    const report = await resolveVersion(ctx, plan(), { fileId: old.fileId, sequence: 200n, slots: SLOTS }, new BlockListings());
    expect(report.outcome).toBe('rolled-back');
    for (const store of ctx.stores) expect((await store.store.listFileBlocks(old.fileId)).every((key) => key.sequence === 100n)).toBe(true);
    expect((await readBack(old)).equals(content)).toBe(true);
  });

  it('obsolete and in progress: a version older than the committed one is removed; a live writer\'s is left alone', async () => {
    const old = await put(content, recordOf(content, 300n));
    const stale = recordOf(content, 200n, old.name, old.fileId);
    await put(content, stale);
    const obsolete = await resolveVersion(ctx, plan({ newestSequenceOf: async () => 300n }), { fileId: old.fileId, sequence: 200n, slots: SLOTS }, new BlockListings());
    expect(obsolete.outcome).toBe('obsolete-removed');
    expect((await ctx.stores[1].store.listFileBlocks(old.fileId)).some((key) => key.sequence === 200n)).toBe(false);
    const live = await resolveVersion(ctx, plan({ isLive: () => true }), { fileId: old.fileId, sequence: 300n, slots: SLOTS }, new BlockListings());
    expect(live.outcome).toBe('in-progress');
    // Its writer gone and the name's newest record this very version: committed after the scan, kept.
    const committed = await resolveVersion(ctx, plan({ newestSequenceOf: async () => 300n }), { fileId: old.fileId, sequence: 300n, slots: SLOTS }, new BlockListings());
    expect(committed.outcome).toBe('committed-meanwhile');
    expect((await readBack(old)).equals(content)).toBe(true);
  });

  it('obsolete by a newer write: a complete unfinished version followed by a newer unfinished write of the name is removed, not finished', async () => {
    const old = await put(content, recordOf(content, 100n));
    const complete = recordOf(seededBytes(content.length, 79), 200n, old.name, old.fileId);
    await put(seededBytes(content.length, 79), complete);
    const version = { fileId: old.fileId, sequence: 200n, slots: SLOTS, newerWrite: 300n };
    const report = await resolveVersion(ctx, plan(), version, new BlockListings());
    expect(report.outcome).toBe('obsolete-removed');
    expect(report.detail).toMatch(/newer write of the name \(300\)/);
    for (const store of ctx.stores) expect((await store.store.listFileBlocks(old.fileId)).every((key) => key.sequence === 100n)).toBe(true);
    expect((await readBack(old)).equals(content)).toBe(true);
  });

  it('superseded: a version a newer commit replaced gets no verdict, and blocks a repair wrote for it are removed', async () => {
    const old = await put(content, recordOf(content, 100n));
    const [ref] = refsOf(old);
    await fs.rm(await blockFile(ref, 3));
    const result = await checkDataset(ctx, ref, { repair: true, collectOlder: false }, new BlockListings());
    expect(result.repaired).toEqual([3]);
    const newer = { ...old, sequence: 500n };
    const superseded = await supersededAmong([toConfirm(ref, result.repaired)], new Map([[old.name, newer]]), (slot) => ctx.storeOf(slot));
    expect([...superseded]).toEqual([old.fileId]);
    await expect(fs.stat(await blockFile(ref, 3))).rejects.toThrow();
    const still = await supersededAmong([toConfirm(ref, [])], new Map([[old.name, old]]), (slot) => ctx.storeOf(slot));
    expect(still.size).toBe(0);
  });
});
