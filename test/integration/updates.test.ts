import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { listBlockFiles, makePool, makeScratch, rain, seededBytes, type Scratch, type TestPool } from '../helpers/rain-cli.js';

interface SyncDoc {
  added: string[]; updated: string[]; unchanged: number; deleted: string[];
  bytesRead: number; bytesWritten: number; datasetsRewritten: number; datasetsKept: number;
}

describe('updates: sync, versions, deletes, concurrent writers', () => {
  let scratch: Scratch;
  let pool: TestPool;
  let src: string;

  beforeEach(async () => {
    scratch = await makeScratch();
    pool = await makePool(scratch, 4, 2, 6, ['--block-size', '4K']);
    src = await scratch.dir('src');
  });
  afterEach(async () => scratch.cleanup());

  async function sync(...extra: string[]): Promise<SyncDoc> {
    const run = await pool.run(['sync', src, '--as', 'mirror', '--json', ...extra]);
    expect(run.code).toBe(0);
    return JSON.parse(run.stdout) as SyncDoc;
  }

  async function blockSequences(): Promise<Map<string, string>> {
    const seen = new Map<string, string>();
    for (const store of pool.stores) {
      for (const f of await listBlockFiles(store)) {
        const [d, b, seq] = path.basename(f).split('.');
        seen.set(`${path.basename(path.dirname(f))}/${d}.${b}`, seq);
      }
    }
    return seen;
  }

  it('sync adds, re-encodes only changed data sets, skips unchanged files, and deletes with --delete', async () => {
    const big = seededBytes(20 * 16384 + 100, 1); // 21 data sets of 4 x 4 KiB
    await fs.writeFile(path.join(src, 'big.bin'), big);
    await fs.writeFile(path.join(src, 'small.txt'), 'small');
    const first = await sync();
    expect(first.added.sort()).toEqual(['mirror/big.bin', 'mirror/small.txt']);
    const before = await blockSequences();

    big.fill(7, 5 * 16384 + 10, 5 * 16384 + 20); // touch one data set
    await fs.writeFile(path.join(src, 'big.bin'), big);
    const second = await sync();
    expect(second.updated).toEqual(['mirror/big.bin']);
    expect(second.unchanged).toBe(1);
    expect(second.datasetsRewritten).toBe(1);
    expect(second.datasetsKept).toBe(20);
    expect(second.bytesWritten).toBe(6 * 4096);
    const after = await blockSequences();
    const changed = [...after].filter(([key, seq]) => before.get(key) !== seq).map(([key]) => key.split('/')[1].split('.')[0]);
    expect(new Set(changed)).toEqual(new Set(['5'])); // only data set 5's blocks have a new sequence
    expect((await pool.run(['get', 'mirror/big.bin'])).stdoutBytes.equals(big)).toBe(true);

    const third = await sync();
    expect(third.unchanged).toBe(2);
    expect(third.bytesWritten).toBe(0);

    await fs.rm(path.join(src, 'small.txt'));
    expect((await sync()).deleted).toEqual([]); // without --delete nothing is removed
    expect((await sync('--delete')).deleted).toEqual(['mirror/small.txt']);
    expect((await pool.run(['get', 'mirror/small.txt'])).code).toBe(64);
    expect((await pool.run(['verify'])).code).toBe(0);
    expect((await pool.run(['check'])).code).toBe(0);
  });

  it('a file that grows or shrinks is re-encoded where its geometry changed', async () => {
    await fs.writeFile(path.join(src, 'f.bin'), seededBytes(50_000, 2));
    await sync();
    await fs.writeFile(path.join(src, 'f.bin'), seededBytes(70_000, 2));
    await sync();
    expect((await pool.run(['get', 'mirror/f.bin'])).stdoutBytes.equals(seededBytes(70_000, 2))).toBe(true);
    await fs.writeFile(path.join(src, 'f.bin'), seededBytes(10_000, 2));
    await sync();
    expect((await pool.run(['get', 'mirror/f.bin'])).stdoutBytes.equals(seededBytes(10_000, 2))).toBe(true);
    expect((await pool.run(['verify'])).code).toBe(0);
  });

  it('a delete does not come back when a store that was away returns with the old blocks', async () => {
    await fs.writeFile(path.join(scratch.root, 'gone.bin'), seededBytes(30_000, 3));
    expect((await pool.run(['put', path.join(scratch.root, 'gone.bin')])).code).toBe(0);
    const away = `${pool.stores[3]}.away`;
    await fs.rename(pool.stores[3], away);
    expect((await rain(['rm', 'gone.bin', '-p', pool.stores[0]], { env: scratch.env })).code).toBe(0);
    await fs.rename(away, pool.stores[3]);
    const ls = await pool.run(['ls', '--json']);
    expect(ls.stdout).not.toContain('gone.bin');
    expect((await pool.run(['get', 'gone.bin'])).code).toBe(64);
    expect((await pool.run(['check'])).code).toBe(1); // the returning store lacked the delete record: repaired
    expect((await listBlockFiles(pool.stores[3])).length).toBe(0); // and its old blocks are collected
    // The tombstone itself is collected once every store has seen it.
    const catalogFiles = await fs.readdir(path.join(pool.stores[3], 'catalog')).then(async (buckets) => {
      let count = 0;
      for (const b of buckets) count += (await fs.readdir(path.join(pool.stores[3], 'catalog', b))).length;
      return count;
    });
    expect(catalogFiles).toBe(0);
    expect((await pool.run(['ls', '--json'])).stdout).not.toContain('gone.bin');
    expect((await pool.run(['check'])).code).toBe(0);
  });

  it('concurrent puts of one name end as exactly one of the written versions; readers never see a mix', async () => {
    const versions = Array.from({ length: 4 }, (_, i) => seededBytes(40_000 + i * 1000, 10 + i));
    for (let i = 0; i < versions.length; i++) await fs.writeFile(path.join(scratch.root, `v${i}`), versions[i]);
    const readers = Array.from({ length: 3 }, () => pool.run(['get', 'shared.bin']));
    const writers = versions.map((_, i) => pool.run(['put', path.join(scratch.root, `v${i}`), '--as', 'shared.bin']));
    const results = await Promise.all(writers);
    for (const r of results) expect(r.code).toBe(0);
    for (const r of await Promise.all(readers)) {
      if (r.code === 0) expect(versions.some((v) => v.equals(r.stdoutBytes))).toBe(true);
      else expect(r.code).toBe(64); // the name did not exist yet
    }
    const final = await pool.run(['get', 'shared.bin']);
    expect(versions.some((v) => v.equals(final.stdoutBytes))).toBe(true);
    expect((await pool.run(['check'])).code).toBeLessThanOrEqual(1);
    expect((await pool.run(['verify'])).code).toBe(0);
    expect((await pool.run(['get', 'shared.bin'])).stdoutBytes.equals(final.stdoutBytes)).toBe(true);
  });
});
