import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from '@jest/globals';
import type { CatalogRecord } from '../../src/format/catalog-record.js';
import { newId } from '../../src/format/ids.js';
import { existingRecords } from '../../src/ops/put-files.js';
import { SourceList } from '../../src/ops/walked-tree.js';
import { writeCatalogRecord, writeCatalogRecords } from '../../src/store/catalog-files.js';
import { DirectorySync } from '../../src/store/durable-file.js';

/**
 * A put -r finds the records its names already have either by looking the names up or, for a
 * large tree, in one pass over the catalog: both must find the same records (a missed one would
 * give a replaced file a new id and leave its old version as garbage; a wrong one would replace
 * the wrong file).
 */
let root: string;
let stores: string[];

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'rain-existing-'));
  stores = [path.join(root, 's0'), path.join(root, 's1')];
  for (const store of stores) await fs.mkdir(path.join(store, 'tmp'), { recursive: true });
});
afterEach(async () => fs.rm(root, { recursive: true, force: true }));

function record(name: string, sequence: bigint, deleted = false): CatalogRecord {
  return {
    name, fileId: newId(), sequence, deleted, fileSizeBytes: 10, k: 2, m: 1, blockSizeBytes: 4096,
    datasetCount: 1, writtenAt: '2026-12-05T00:00:00.000Z', datasetChecksums: [],
  };
}

it('a lookup by names and a pass over the catalog find the same newest records, tombstones included, and nothing else', async () => {
  const pool = Array.from({ length: 600 }, (_, i) => record(`t/f${i}`, 100n + BigInt(i)));
  for (const store of stores) {
    const sync = new DirectorySync();
    await writeCatalogRecords(store, pool, sync);
    await sync.flush();
  }
  // Newer versions on one store only, a tombstone, and names outside the put.
  const newer = record('t/f7', 5000n);
  await writeCatalogRecord(stores[1], newer);
  const gone = { ...pool[8], sequence: 5001n, deleted: true };
  await writeCatalogRecord(stores[0], gone);
  const walked = ['t', ...Array.from({ length: 300 }, (_, i) => `t/f${i * 3}`), 't/f7', 't/f8', 't/new-1', 't/new-2']
    .sort()
    .map((name) => ({ path: `/src/${name}`, name, sizeBytes: 0 }));
  const sources = new SourceList(walked);
  const byNames = await existingRecords(stores, sources, Number.MAX_SAFE_INTEGER);
  const byPass = await existingRecords(stores, sources, 0);
  expect([...byPass.keys()].sort()).toEqual([...byNames.keys()].sort());
  for (const [name, found] of byNames) expect(byPass.get(name)).toEqual(found);
  // f0, f3 .. f597 (200 names), f7 and f8; not the new names, not the pool's names outside the put (f1, f2, ...).
  expect(byPass.size).toBe(202);
  expect(byPass.get('t/f6')?.sequence).toBe(106n);
  expect(byPass.get('t/f7')).toEqual(newer);
  expect(byPass.get('t/f8')).toMatchObject({ deleted: true, sequence: 5001n });
  expect(byPass.has('t/f1')).toBe(false);
  expect(byPass.has('t/new-1')).toBe(false);
});
