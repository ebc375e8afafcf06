/**
 * The two ways of reading the catalog over several stores, on real directories: readCatalog
 * opens every record copy (verify counts copies and damaged files from it), readNewestRecords
 * opens a store's record file only when its listing shows a version newer than the stores read
 * before it. Both must agree on the newest valid record of every name, whatever store order,
 * torn files and missing copies.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import type { CatalogRecord } from '../../src/format/catalog-record.js';
import { newId } from '../../src/format/ids.js';
import { readCatalog, readNewestRecords } from '../../src/ops/catalog.js';
import { writeCatalogRecord } from '../../src/store/catalog-files.js';
import { catalogRecordPath } from '../../src/store/store-layout.js';

let root: string;
let stores: string[];

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'rain-catalog-read-'));
  stores = ['a', 'b', 'c'].map((s) => path.join(root, s));
  for (const store of stores) await fs.mkdir(store);
});

afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

function version(name: string, sequence: bigint, deleted = false): CatalogRecord {
  return {
    name, fileId: newId(), sequence, deleted, fileSizeBytes: 10, k: 2, m: 1, blockSizeBytes: 4096,
    datasetCount: 1, writtenAt: '2026-11-26T00:00:00.000Z', datasetChecksums: [1],
  };
}

async function put(storeIndexes: number[], record: CatalogRecord): Promise<void> {
  for (const i of storeIndexes) await writeCatalogRecord(stores[i], record);
}

async function tear(storeIndex: number, record: CatalogRecord): Promise<void> {
  await fs.writeFile(catalogRecordPath(stores[storeIndex], record.name, record.sequence), '{"crc32":1,"bo');
}

function newest(records: Map<string, CatalogRecord>): Record<string, string> {
  return Object.fromEntries([...records].map(([name, r]) => [name, `${r.sequence}${r.deleted ? ' deleted' : ''}`]));
}

describe('reading the catalog of several stores', () => {
  it('both readers agree on the newest valid version of every name, in every store order', async () => {
    // one: everywhere at 1, newer (2) only on the last store.
    await put([0, 1, 2], version('one', 1n));
    await put([2], version('one', 2n));
    // two: deleted (3) on the middle store only; the others still hold the file (2).
    await put([0, 2], version('two', 2n));
    await put([1], version('two', 3n, true));
    // three: its newest copy (5) is torn on the first store, valid on the second.
    const threeNew = version('three', 5n);
    await put([0, 1], threeNew);
    await put([0], version('three', 4n));
    await tear(0, threeNew);
    // four: torn everywhere at 7, the older version 6 is valid on one store.
    const fourNew = version('four', 7n);
    await put([0, 1, 2], fourNew);
    await put([2], version('four', 6n));
    for (const i of [0, 1, 2]) await tear(i, fourNew);
    // five: only on the first store.
    await put([0], version('five', 9n));

    const expected = { one: '2', two: '3 deleted', three: '5', four: '6', five: '9' };
    for (const order of [[0, 1, 2], [2, 1, 0], [1, 0, 2]]) {
      const paths = order.map((i) => stores[i]);
      const full = await readCatalog(paths);
      const fast = await readNewestRecords(paths);
      expect(newest(full.records)).toEqual(expected);
      expect(newest(fast.records)).toEqual(expected);
      expect(full.copies.get('one')).toBe(1);
      expect(full.copies.get('three')).toBe(1);
      // Every torn copy counts in the full read (verify reports them); the fast read opened fewer.
      expect(full.unreadableFiles.length).toBe(4);
      expect(fast.unreadableFiles.length).toBeLessThanOrEqual(4);
    }
  });

  it('a name narrowed with `only` reads just that name, from every store', async () => {
    await put([0, 1, 2], version('x', 1n));
    await put([1], version('x', 2n));
    await put([0, 1, 2], version('y', 1n));
    expect(newest((await readNewestRecords(stores, 'x')).records)).toEqual({ x: '2' });
    expect(newest((await readNewestRecords(stores, ['x', 'y', 'z'])).records)).toEqual({ x: '2', y: '1' });
    expect(newest((await readCatalog(stores, ['y'])).records)).toEqual({ y: '1' });
  });

  it('a store that cannot be read is skipped; the others still give every name', async () => {
    await put([0, 1, 2], version('x', 1n));
    await put([2], version('x', 3n));
    const missing = path.join(root, 'not-there');
    const view = await readNewestRecords([missing, stores[0], stores[2]]);
    expect(newest(view.records)).toEqual({ x: '3' });
  });
});
