import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeCatalogRecord, encodeCatalogRecord, type CatalogRecord } from '../../src/format/catalog-record.js';
import { crc32Of } from '../../src/format/checksum.js';
import { newId } from '../../src/format/ids.js';
import { readStamp, type SourceFile } from '../../src/ops/source-stamp.js';
import { compareEntry, isRacy, TIMESTAMP_GRANULARITY_NS } from '../../src/ops/tree-diff.js';

const geometry = { k: 2, blockSizeBytes: 4096 };

describe('tree-diff: which files a sync reads', () => {
  let dir: string;
  let file: string;
  const bytes = Buffer.from('the same eleven bytes');
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rain-tree-diff-'));
    file = path.join(dir, 'f');
    await fs.writeFile(file, bytes);
  });
  afterAll(async () => fs.rm(dir, { recursive: true, force: true }));

  function sourceNow(): SourceFile {
    const stamp = readStamp(file);
    if (!stamp) throw new Error('no stamp');
    return { path: file, name: 't/f', sizeBytes: stamp.sizeBytes, stamp, meta: { mode: 0o644, mtimeNs: stamp.mtimeNs, uid: 0, gid: 0 } };
  }

  function recordOf(source: SourceFile, writtenAtMs: number, checksum: number): CatalogRecord {
    return {
      name: source.name, fileId: newId(), sequence: 5n, deleted: false, fileSizeBytes: source.sizeBytes, k: 2, m: 1, blockSizeBytes: 4096,
      datasetCount: 1, writtenAt: new Date(writtenAtMs).toISOString(), datasetChecksums: [checksum], ...source.meta, sourceStamp: source.stamp,
    };
  }

  it('keeps the source stamp in the record, exactly', () => {
    const source = sourceNow();
    const decoded = decodeCatalogRecord(encodeCatalogRecord(recordOf(source, Date.now(), crc32Of(bytes))));
    expect(decoded.ok && decoded.record.sourceStamp).toEqual(source.stamp);
  });

  it('trusts a matching stamp older than the write by more than the granularity: the file is not opened', async () => {
    const source = sourceNow();
    const mtimeMs = Number(source.stamp?.mtimeNs ?? 0n) / 1e6;
    // A wrong checksum proves the bytes were not compared.
    const record = recordOf(source, mtimeMs + 2500, 12345);
    expect(isRacy(record)).toBe(false);
    const counter = { bytesRead: 0 };
    const found = await compareEntry(source, record, { geometry, counter });
    expect(found.mark).toBeUndefined();
    expect(counter.bytesRead).toBe(0);
    // --checksum reads it and finds the difference.
    const forced = await compareEntry(source, record, { geometry, counter, checksum: true });
    expect(forced).toMatchObject({ mark: '~', reasons: ['content'] });
    expect(counter.bytesRead).toBe(bytes.length);
  });

  it('racy: a stamp within the granularity of the write is re-read though it matches (git\'s rule)', async () => {
    const source = sourceNow();
    const mtimeMs = Number(source.stamp?.mtimeNs ?? 0n) / 1e6;
    const atEdge = recordOf(source, mtimeMs + Number(TIMESTAMP_GRANULARITY_NS / 1_000_000n) - 1, 12345);
    expect(isRacy(atEdge)).toBe(true);
    const counter = { bytesRead: 0 };
    // Same size, same mtime, same everything, other bytes: only reading shows it.
    expect(await compareEntry(source, atEdge, { geometry, counter })).toMatchObject({ mark: '~', reasons: ['content'] });
    expect(counter.bytesRead).toBe(bytes.length);
    // Read, equal, and not racy any more if written now: the record gets a fresh stamp.
    const equal = recordOf(source, mtimeMs + 10, crc32Of(bytes));
    const refreshed = await compareEntry(source, equal, { geometry, counter, nowMs: mtimeMs + 5000 });
    expect(refreshed).toMatchObject({ mark: undefined, refreshStamp: true });
    // A record without a stamp (written before stamps) is read once the same way.
    const { sourceStamp: _none, ...old } = recordOf(source, mtimeMs + 5000, crc32Of(bytes));
    expect(await compareEntry(source, old, { geometry, counter, nowMs: mtimeMs + 5000 })).toMatchObject({ mark: undefined, refreshStamp: true });
  });

  it('any differing member of the stamp means read: size, mtime, ctime, inode, device', async () => {
    const source = sourceNow();
    const stamp = source.stamp;
    if (!stamp) throw new Error('no stamp');
    const mtimeMs = Number(stamp.mtimeNs) / 1e6;
    for (const other of [{ ctimeNs: stamp.ctimeNs + 1n }, { ino: stamp.ino + 1n }, { dev: stamp.dev + 1n }, { mtimeNs: stamp.mtimeNs - 1n }]) {
      const record = { ...recordOf(source, mtimeMs + 60_000, crc32Of(bytes)), sourceStamp: { ...stamp, ...other } };
      const counter = { bytesRead: 0 };
      await compareEntry(source, record, { geometry, counter });
      expect(counter.bytesRead).toBe(bytes.length);
    }
  });
});
