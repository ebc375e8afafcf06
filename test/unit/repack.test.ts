import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { compareVersions, newestRecord, type CatalogRecord } from '../../src/format/catalog-record.js';
import { newId, newSequence } from '../../src/format/ids.js';
import { packsToRepack, packUsage, repackRounds, REPACK_LIVE_SHARE } from '../../src/ops/repack-selection.js';
import { isSuperseded } from '../../src/ops/read-retry.js';
import { readCatalog, readNewestRecords } from '../../src/ops/catalog.js';
import { LocalStore } from '../../src/store/local-store.js';

/** Repacking's rules in-process (docs/FORMAT.md §5.1 "Repacking", docs/DECISIONS.md D4). */
function packed(name: string, sizeBytes: number, pack: { fileId: string; sequence: bigint; packBytes: number }, offsetBytes = 0, sequence = newSequence()): CatalogRecord {
  return {
    name, fileId: newId(), sequence, deleted: false, fileSizeBytes: sizeBytes, k: 2, m: 1, blockSizeBytes: 16384, datasetCount: 0,
    writtenAt: 'now', datasetChecksums: [], pack: { ...pack, packChecksum: 1, offsetBytes, fileChecksum: 2 },
  };
}

describe('the tie-break of a moved record', () => {
  const oldPack = { fileId: newId(), sequence: newSequence(), packBytes: 30_000 };
  const newPack = { fileId: newId(), sequence: newSequence(oldPack.sequence), packBytes: 500 };
  const original = packed('a/b', 100, oldPack, 20_000);
  const moved: CatalogRecord = { ...original, pack: { ...original.pack!, fileId: newPack.fileId, sequence: newPack.sequence, packBytes: 500, offsetBytes: 0 } };

  it('at one sequence the record in the newer pack wins, in any order; a higher sequence wins over both', () => {
    expect(compareVersions(moved, original)).toBeGreaterThan(0);
    expect(compareVersions(original, moved)).toBeLessThan(0);
    expect(newestRecord([original, moved])).toBe(moved);
    expect(newestRecord([moved, original])).toBe(moved);
    const rewritten = packed('a/b', 7, oldPack, 0, newSequence(original.sequence));
    expect(newestRecord([moved, rewritten, original])).toBe(rewritten);
    const tombstone: CatalogRecord = { ...original, sequence: newSequence(original.sequence), deleted: true };
    expect(newestRecord([tombstone, moved])).toBe(tombstone);
  });

  it('two moves of one pack at once: the higher pack sequence, then the higher pack id, everywhere the same', () => {
    const a = { ...moved, pack: { ...moved.pack!, fileId: '0'.repeat(32) } };
    const b = { ...moved, pack: { ...moved.pack!, fileId: 'f'.repeat(32) } };
    expect(newestRecord([a, b])).toBe(b);
    expect(newestRecord([b, a])).toBe(b);
    expect(compareVersions(a, { ...a })).toBe(0);
  });

  it('a reader that read the original starts over on the moved record', () => {
    expect(isSuperseded(original, moved)).toBe(true);
    expect(isSuperseded(moved, { ...moved })).toBe(false);
    expect(isSuperseded(moved, undefined)).toBe(true);
  });

  describe('on a store', () => {
    let dir: string;
    beforeEach(async () => { dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rain-repack-unit-')); });
    afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

    it('a moved record is never a plain file; a reader holding the original from one store takes the moved one from another; a merge keeps only it', async () => {
      const [first, second] = [path.join(dir, 'a'), path.join(dir, 'b')];
      for (const store of [first, second]) await fs.mkdir(store);
      const a = new LocalStore(first);
      const b = new LocalStore(second);
      await a.writeCatalogRecord(original);
      await b.writeCatalogRecord(original);
      await b.writeCatalogRecords([moved]);
      await Promise.all([a.flush(), b.flush()]);
      const files = await fs.readdir(path.join(second, 'catalog'), { recursive: true });
      expect(files.filter((f) => f.endsWith('.seg'))).toHaveLength(1);
      // The first store's original is held when the second is scanned: its listing skips what is held.
      expect([...(await readNewestRecords([first, second])).records.values()]).toEqual([moved]);
      expect([...(await readNewestRecords([second, first])).records.values()]).toEqual([moved]);
      expect([...(await readCatalog([first, second])).records.values()]).toEqual([moved]);
      await b.compactCatalog(undefined, []);
      const after = await fs.readdir(path.join(second, 'catalog'), { recursive: true });
      expect(after.filter((f) => f.endsWith('.json'))).toEqual([]);
      expect((await b.scanCatalog()).records).toEqual([moved]);
    });
  });
});

describe('which packs are repacked', () => {
  const pack = (packBytes: number) => ({ fileId: newId(), sequence: newSequence(), packBytes });

  it(`selects a pack when its live files hold less than ${REPACK_LIVE_SHARE * 100}% of it, emptiest first`, () => {
    const half = pack(1000);
    const low = pack(1000);
    const lower = pack(1000);
    const full = pack(1000);
    const records = [
      packed('h1', 250, half, 0), packed('h2', 250, half, 250), // exactly 50%: stays
      packed('l1', 100, low, 500), packed('l2', 300, low, 0), // 40%
      packed('x1', 10, lower, 990), // 1%
      packed('f1', 1000, full, 0),
      { ...packed('gone', 400, lower, 0), deleted: true }, // a tombstone is no live file
      { ...packed('own', 10, full, 0), pack: undefined, datasetCount: 1 },
    ];
    const usage = packUsage(records);
    expect(usage).toHaveLength(4);
    const selected = packsToRepack(usage);
    expect(selected.map((u) => u.fileId)).toEqual([lower.fileId, low.fileId]);
    expect(selected[1].liveBytes).toBe(400);
    // Members in pack order (their offsets), so a new pack keeps neighbours together.
    expect(selected[1].members.map((m) => m.name)).toEqual(['l2', 'l1']);
  });

  it('cuts the work into rounds under a byte cap without splitting a pack', () => {
    const usage = packUsage([
      packed('a', 60, pack(1000)), packed('b', 60, pack(1000)), packed('c', 60, pack(1000)), packed('d', 500, pack(2000)),
    ]);
    const rounds = repackRounds(packsToRepack(usage), 130);
    expect(rounds.map((r) => r.reduce((sum, u) => sum + u.liveBytes, 0))).toEqual([120, 60, 500]);
  });
});
