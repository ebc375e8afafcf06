import { describe, expect, it } from '@jest/globals';
import { nextStepLine, storeLines } from '../../src/cli/store-lines.js';
import { emptyHealth, foldCheckResult, type FileHealth } from '../../src/dataset/file-health.js';
import { summarizeHealth } from '../../src/dataset/health-tally.js';
import { describeStoreProblem, storeUnusableWhy } from '../../src/ops/store-problem.js';
import { describeStoreError, errnoWords } from '../../src/rain-error.js';

/** A file of one data set (2+1) whose block on `badSlot` is missing, repaired or not. */
function damaged(name: string, badSlot: number, repaired: boolean): FileHealth {
  const health = emptyHealth({ name, fileId: name, fileSizeBytes: 10, datasetCount: 1 });
  foldCheckResult(health, {
    datasetIndex: 0, goodCount: 2, recoverable: true,
    blocks: [0, 1, 2].map((slot) => ({ blockIndex: slot, slot, status: slot === badSlot ? 'missing' as const : 'good' as const, newerPresent: false })),
    repaired: repaired ? [badSlot] : [], unrepaired: repaired ? [] : [{ blockIndex: badSlot, reason: `store ${badSlot} is missing: directory not found` }],
  });
  health.state = repaired ? 'healthy' : 'degraded';
  return health;
}

describe('errno codes and store states in words', () => {
  it('names ENOSPC, EROFS, EACCES and EPERM in words, keeping the code for searching', () => {
    expect(errnoWords('ENOSPC')).toBe('disk full (ENOSPC)');
    expect(errnoWords('EROFS')).toBe('read-only file system (EROFS)');
    expect(errnoWords('EACCES')).toBe('permission denied (EACCES)');
    expect(errnoWords('EPERM')).toBe('permission denied (EPERM)');
    const error = Object.assign(new Error("ENOSPC: no space left on device, write '/mnt/d3/x'"), { code: 'ENOSPC' });
    expect(describeStoreError(error)).toBe("disk full (ENOSPC): no space left on device, write '/mnt/d3/x'");
  });

  it('a store whose directory vanished is "directory not found", in reports and in why its blocks were not written', () => {
    const store = { slot: 1, path: '/mnt/d2', condition: 'missing' as const };
    expect(describeStoreProblem(store)).toBe('store 1 (/mnt/d2): missing, directory not found');
    expect(storeUnusableWhy(store)).toBe('missing: directory not found');
    expect(storeUnusableWhy({ condition: 'unreadable', detail: 'permission denied (EACCES)' })).toBe('unreadable: permission denied (EACCES)');
  });
});

describe('store lines: one per store in trouble, however many files', () => {
  const stores = [
    { slot: 0, path: '/mnt/d1', condition: 'online' as const },
    { slot: 1, path: '/mnt/d2', condition: 'missing' as const, detail: 'directory not found' },
    { slot: 2, path: '/mnt/d3', condition: 'online' as const },
  ];

  it('180 files with a block on a vanished store: one line with the cause, the count and the next step', () => {
    const files = Array.from({ length: 180 }, (_, i) => damaged(`f${i}`, 1, false));
    const lines = storeLines(stores, summarizeHealth(files).byStore, true);
    expect(lines).toEqual([
      "store 1 (/mnt/d2): missing, directory not found; missing blocks in 180 files, not repaired in 180 files; next: mount its disk or create the directory (mkdir -p /mnt/d2), then run 'rain rebuild'; or move the slot to a new directory: rain rebuild --replace 1=NEWDIR",
    ]);
    expect(nextStepLine('degraded', stores, true)).toMatch(/^next: bring back or replace the stores listed above/);
  });

  it('an online store with bad blocks says so, and what rebuild did about them', () => {
    expect(storeLines(stores.map((s) => ({ ...s, condition: 'online' as const })), summarizeHealth([damaged('a', 2, false)]).byStore, false))
      .toEqual(["store 2 (/mnt/d3): online; missing blocks in 1 file; next: run 'rain rebuild' to rewrite them"]);
    expect(storeLines(stores.map((s) => ({ ...s, condition: 'online' as const })), summarizeHealth([damaged('a', 2, true)]).byStore, true))
      .toEqual(['store 2 (/mnt/d3): online; missing blocks in 1 file, repaired in 1 file']);
  });

  it('a healthy pool has no store lines and no next step', () => {
    const online = stores.map((s) => ({ slot: s.slot, path: s.path, condition: 'online' as const }));
    expect(storeLines(online, summarizeHealth([emptyHealth({ name: 'a', fileId: 'a', fileSizeBytes: 1, datasetCount: 1 })]).byStore, false)).toEqual([]);
    expect(nextStepLine('healthy', online, false)).toBeUndefined();
    expect(nextStepLine('lost', online, false)).toMatch(/restore those files from another copy/);
  });
});
