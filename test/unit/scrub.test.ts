import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { CatalogRecord } from '../../src/format/catalog-record.js';
import { newId } from '../../src/format/ids.js';
import { decodeScrubLog, encodeScrubLog, foldScrubEntries, scrubEntriesOf, scrubKey, type ScrubTimes } from '../../src/format/scrub-log.js';
import { compactScrubLogs, readScrubTimes, recordScrub } from '../../src/ops/scrub-log.js';
import { rangesByFile, scrubAgeHistogram, scrubTargets, scrubUnits, selectForScrub, type ScrubUnit } from '../../src/ops/scrub-selection.js';

/** Partial scrubs (--percent, --older-than): which data sets a run reads, and the scrub log format (docs/FORMAT.md §8). */
const DAY_MS = 24 * 60 * 60 * 1000;
const NOW_MS = Date.UTC(2026, 11, 3);

function record(name: string, datasetCount: number, overrides: Partial<CatalogRecord> = {}): CatalogRecord {
  return {
    name, fileId: newId(), sequence: 10n, deleted: false, fileSizeBytes: datasetCount * 8192, k: 2, m: 1, blockSizeBytes: 4096,
    datasetCount, writtenAt: 'now', datasetChecksums: [], ...overrides,
  };
}

function units(count: number, lastVerifiedMs: (i: number) => number | undefined = () => undefined): ScrubUnit[] {
  return Array.from({ length: count }, (_, i) => {
    const at = lastVerifiedMs(i);
    const fileId = i.toString(16).padStart(32, '0');
    return at === undefined ? { fileId, datasetIndex: 0, sequence: 1n } : { fileId, datasetIndex: 0, sequence: 1n, lastVerifiedMs: at };
  });
}

describe('choosing the data sets of a partial scrub', () => {
  it('takes the never verified first, then the longest ago, and says when the oldest left was verified', () => {
    const all = units(6, (i) => [NOW_MS - 3 * DAY_MS, undefined, NOW_MS - DAY_MS, NOW_MS - 9 * DAY_MS, undefined, NOW_MS][i]);
    const { selected, coverage } = selectForScrub(all, { percent: 50 }, NOW_MS);
    expect(selected.map((u) => Number.parseInt(u.fileId, 16))).toEqual([1, 4, 3]);
    expect(coverage).toEqual({ percent: 50, totalDatasets: 6, eligibleDatasets: 6, selectedDatasets: 3, oldestLeftVerifiedAtMs: NOW_MS - 3 * DAY_MS });
    expect(selectForScrub(all, { percent: 10 }, NOW_MS).coverage.oldestLeftVerifiedAtMs).toBeNull();
    expect(selectForScrub(all, {}, NOW_MS).selected).toHaveLength(6);
  });

  it('rounds P% of the data sets up, so 100/P runs cover an unchanged pool', () => {
    expect(selectForScrub(units(40), { percent: 25 }, NOW_MS).selected).toHaveLength(10);
    expect(selectForScrub(units(41), { percent: 5 }, NOW_MS).selected).toHaveLength(3);
    expect(selectForScrub(units(100), { percent: 7 }, NOW_MS).selected).toHaveLength(7);
    expect(selectForScrub(units(8240), { percent: 5 }, NOW_MS).selected).toHaveLength(412);
    expect(selectForScrub(units(3), { percent: 0.1 }, NOW_MS).selected).toHaveLength(1);
    // Twenty nightly runs of 5% over 1,000 data sets read each one once.
    let pool = units(1000);
    const reads = new Map<string, number>();
    for (let night = 1; night <= 20; night++) {
      const nowMs = NOW_MS + night * DAY_MS;
      const { selected } = selectForScrub(pool, { percent: 5 }, nowMs);
      for (const u of selected) reads.set(u.fileId, (reads.get(u.fileId) ?? 0) + 1);
      const read = new Set(selected.map((u) => u.fileId));
      pool = pool.map((u) => (read.has(u.fileId) ? { ...u, lastVerifiedMs: nowMs } : u));
    }
    expect(reads.size).toBe(1000);
    expect([...reads.values()].every((n) => n === 1)).toBe(true);
  });

  it('with --older-than takes only those verified more than DAYS ago (or never), at most P% of all', () => {
    const all = units(10, (i) => (i < 2 ? undefined : NOW_MS - i * DAY_MS));
    const older = selectForScrub(all, { olderThanDays: 5.5 }, NOW_MS);
    expect(older.selected.map((u) => Number.parseInt(u.fileId, 16))).toEqual([0, 1, 9, 8, 7, 6]);
    expect(older.coverage.eligibleDatasets).toBe(6);
    expect(older.coverage.oldestLeftVerifiedAtMs).toBeUndefined();
    const both = selectForScrub(all, { olderThanDays: 5.5, percent: 30 }, NOW_MS);
    expect(both.selected.map((u) => Number.parseInt(u.fileId, 16))).toEqual([0, 1, 9]);
    expect(both.coverage.oldestLeftVerifiedAtMs).toBe(NOW_MS - 8 * DAY_MS);
  });

  it('counts a pack once however many files are packed in it, and each data set of a large file', () => {
    const pack = { fileId: newId(), sequence: 5n, packBytes: 300, offsetBytes: 0, packChecksum: 2, fileChecksum: 3 };
    const members = [0, 1, 2].map((i) => record(`small${i}`, 0, { fileSizeBytes: 100, pack: { ...pack, offsetBytes: i * 100 } }));
    const large = record('large', 4, { datasetSequences: [10n, 12n, 10n, 10n] });
    const gone = record('gone', 2, { deleted: true });
    const targets = scrubTargets([...members, large, gone]);
    expect(targets.map((t) => [t.fileId, t.datasetCount])).toEqual([[pack.fileId, 1], [large.fileId, 4]]);
    // A data set rewritten since (data set 1 at sequence 12) counts as never verified.
    const times: ScrubTimes = new Map([[scrubKey(large.fileId, 1, 10n), NOW_MS], [scrubKey(large.fileId, 0, 10n), NOW_MS], [scrubKey(pack.fileId, 0, 5n), NOW_MS]]);
    const all = scrubUnits(targets, times);
    expect(all.map((u) => u.lastVerifiedMs === undefined)).toEqual([false, false, true, true, true]);
    expect(scrubAgeHistogram(all, NOW_MS + 2 * DAY_MS)).toEqual([
      { label: 'never', datasets: 3 }, { label: '< 1 d', datasets: 0 }, { label: '1-7 d', datasets: 2 }, { label: '7-30 d', datasets: 0 }, { label: '> 30 d', datasets: 0 },
    ]);
    expect([...rangesByFile(all.filter((u) => u.fileId === large.fileId && u.datasetIndex !== 2))]).toEqual([[large.fileId, [[0, 2], [3, 1]]]]);
  });
});

describe('the scrub log', () => {
  const fileA = 'a'.repeat(32);
  const fileB = 'b'.repeat(32);

  it('writes consecutive data sets as ranges and reads them back; a torn or damaged line is ignored', () => {
    const entries = scrubEntriesOf([
      { fileId: fileA, datasetIndex: 0, sequence: 3n, verifiedAtMs: 1000 }, { fileId: fileA, datasetIndex: 1, sequence: 3n, verifiedAtMs: 1000 },
      { fileId: fileA, datasetIndex: 2, sequence: 4n, verifiedAtMs: 1000 }, { fileId: fileB, datasetIndex: 0, sequence: 9n, verifiedAtMs: 2000 },
    ]);
    expect(entries).toEqual([
      { verifiedAtMs: 1000, ranges: [{ fileId: fileA, sequence: 3n, firstDataset: 0, count: 2 }, { fileId: fileA, sequence: 4n, firstDataset: 2, count: 1 }] },
      { verifiedAtMs: 2000, ranges: [{ fileId: fileB, sequence: 9n, firstDataset: 0, count: 1 }] },
    ]);
    const text = encodeScrubLog(entries);
    expect(decodeScrubLog(text)).toEqual({ entries, damagedLines: 0 });
    const lines = text.split('\n');
    const torn = `${lines[0]}\n${lines[1].slice(0, 30)}`;
    expect(decodeScrubLog(torn)).toEqual({ entries: [entries[0]], damagedLines: 1 });
    const flipped = text.replace('"sets":[["a', '"sets":[["c');
    expect(decodeScrubLog(flipped).entries).toEqual([entries[1]]);
    const times: ScrubTimes = new Map();
    foldScrubEntries(times, [...entries, { verifiedAtMs: 500, ranges: [{ fileId: fileB, sequence: 9n, firstDataset: 0, count: 1 }] }]);
    expect(times.get(scrubKey(fileB, 0, 9n))).toBe(2000);
    expect(times.get(scrubKey(fileA, 1, 3n))).toBe(1000);
  });

  it('is written to every store; a compaction keeps the newest time of live data sets only, in one log', async () => {
    const dirs = await Promise.all([0, 1].map(() => fs.mkdtemp(path.join(os.tmpdir(), 'rain-scrub-'))));
    try {
      const a0 = { fileId: fileA, datasetIndex: 0, sequence: 3n };
      const a1 = { fileId: fileA, datasetIndex: 1, sequence: 3n };
      const dead = { fileId: fileB, datasetIndex: 0, sequence: 9n };
      expect(await recordScrub(dirs, [a0, dead], 1000)).toBe(2);
      expect(await recordScrub(dirs, [a0, a1], 5000)).toBe(2);
      // A store whose log was cut short by a crash (a torn last line) still gives what is whole.
      const logDir = path.join(dirs[1], 'scrub');
      for (const file of await fs.readdir(logDir)) await fs.truncate(path.join(logDir, file), 20);
      await fs.writeFile(path.join(logDir, `${'c'.repeat(32)}.log`), encodeScrubLog([{ verifiedAtMs: 7000, ranges: [{ ...a1, firstDataset: 1, count: 1 }] }]).slice(0, -15));
      const times = await readScrubTimes(dirs);
      expect(times.get(scrubKey(fileA, 0, 3n))).toBe(5000);
      expect(times.get(scrubKey(fileA, 1, 3n))).toBe(5000);
      // The live data sets with what every store knows: the store that lost its logs gets them back.
      const live = [a0, a1].map((u) => ({ ...u, lastVerifiedMs: times.get(scrubKey(u.fileId, u.datasetIndex, u.sequence)) }));
      expect(await compactScrubLogs(dirs, live, 2)).toBe(5);
      for (const dir of dirs) {
        expect(await fs.readdir(path.join(dir, 'scrub'))).toHaveLength(1);
        expect(await readScrubTimes([dir])).toEqual(new Map([[scrubKey(fileA, 0, 3n), 5000], [scrubKey(fileA, 1, 3n), 5000]]));
      }
      // Below the threshold nothing is merged.
      await recordScrub(dirs, [a0], 9000);
      expect(await compactScrubLogs(dirs, live, 16)).toBe(0);
    } finally {
      await Promise.all(dirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
    }
  });
});
