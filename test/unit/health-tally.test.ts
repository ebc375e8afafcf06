import { describe, expect, it } from '@jest/globals';
import { emptyHealth, type FileHealth } from '../../src/dataset/file-health.js';
import { HealthTally, isTroubled, summarizeHealth, worstFirst } from '../../src/dataset/health-tally.js';
import { SeededRandom } from '../helpers/seeded-random.js';

const seededRandom = (seed: number): (() => number) => { const r = new SeededRandom(seed); return () => r.next(); };

const STATES: FileHealth['state'][] = ['healthy', 'degraded', 'lost', 'superseded'];

/** A file in a random state, sometimes with repaired, newer or missing blocks on a random store. */
function randomFile(random: () => number, i: number): FileHealth {
  const state = STATES[Math.floor(random() * STATES.length)];
  const health = emptyHealth({ name: `f${String(Math.floor(random() * 1e6)).padStart(7, '0')}-${i}`, fileId: `id${i}`, fileSizeBytes: 1 + Math.floor(random() * 5000), datasetCount: 1 + Math.floor(random() * 3) });
  health.state = state;
  if (random() < 0.2) health.repairedBlocks = 1;
  if (random() < 0.1) health.newerBlocks = 2;
  if (state === 'lost') health.lostDatasets.push(0);
  if (state !== 'healthy' && random() < 0.7) {
    const slot = Math.floor(random() * 6);
    health.byStore[slot] = { missing: 1, corrupt: random() < 0.3 ? 1 : 0, stale: 0, repaired: 0, unrepaired: 1 };
  }
  return health;
}

/** The summary computed the plain way, from every file held in full. */
function plainSummary(files: readonly FileHealth[]) {
  const live = files.filter((f) => f.state !== 'superseded');
  const byStore: Record<string, Record<string, number>> = {};
  for (const f of live) {
    for (const [slot, blocks] of Object.entries(f.byStore)) {
      byStore[slot] ??= { missing: 0, corrupt: 0, stale: 0, repaired: 0, unrepaired: 0 };
      for (const [key, n] of Object.entries(blocks)) if (n > 0) byStore[slot][key]++;
    }
  }
  const count = (list: readonly FileHealth[], state: FileHealth['state']) => list.filter((f) => f.state === state).length;
  const troubled = files.filter(isTroubled);
  return {
    files: files.length,
    states: { healthy: count(files, 'healthy'), degraded: count(files, 'degraded'), lost: count(files, 'lost'), superseded: count(files, 'superseded') },
    troubled: { healthy: count(troubled, 'healthy'), degraded: count(troubled, 'degraded'), lost: count(troubled, 'lost'), superseded: count(troubled, 'superseded') },
    newerFiles: files.filter((f) => f.newerBlocks > 0).length,
    sizeBytes: live.reduce((sum, f) => sum + f.sizeBytes, 0),
    datasets: live.reduce((sum, f) => sum + f.datasets, 0),
    lostDatasets: live.reduce((sum, f) => sum + f.lostDatasets.length, 0),
    byStore,
  };
}

describe('HealthTally: a report\'s counts without holding every file', () => {
  it('counts what the files held in full count, in any order of arrival, whatever it keeps', () => {
    for (const seed of [1, 2, 3]) {
      const random = seededRandom(seed);
      const files = Array.from({ length: 500 }, (_, i) => randomFile(random, i));
      const expected = plainSummary(files);
      expect(summarizeHealth(files)).toEqual(expected);
      for (const kept of ['all', 'troubled', 0, 10] as const) {
        const tally = new HealthTally(kept);
        for (const f of [...files].reverse()) tally.add(f);
        expect(tally.summary()).toEqual(expected);
      }
    }
  });

  it('keeps every file in name order, every troubled or newer one, or the N worst troubled and the N first newer', () => {
    const random = seededRandom(7);
    const files = Array.from({ length: 300 }, (_, i) => randomFile(random, i));
    const byName = (a: FileHealth, b: FileHealth) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    const fill = (kept: 'all' | 'troubled' | number) => {
      const tally = new HealthTally(kept);
      for (const f of files) tally.add(f);
      return tally.files();
    };
    expect(fill('all')).toEqual([...files].sort(byName));
    expect(fill('troubled')).toEqual(files.filter((f) => isTroubled(f) || f.newerBlocks > 0).sort(byName));
    const worst = files.filter(isTroubled).sort(worstFirst).slice(0, 10);
    const firstNewer = files.filter((f) => f.newerBlocks > 0).sort(byName).slice(0, 10);
    expect(fill(10)).toEqual([...new Set([...worst, ...firstNewer])].sort(byName));
    // The worst come first: every lost file is kept before any degraded one.
    const kept = fill(10).filter(isTroubled);
    expect(kept.filter((f) => f.state === 'lost').length).toBe(Math.min(10, files.filter((f) => f.state === 'lost' && isTroubled(f)).length));
    expect(fill(0)).toEqual([]);
  });

  it('refuses a count that is not one', () => {
    expect(() => new HealthTally(-1)).toThrow(/not a count/);
    expect(() => new HealthTally(2.5)).toThrow(/not a count/);
  });
});
