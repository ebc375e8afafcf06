import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listBlockFiles, makePool, makeScratch, seededBytes, type Scratch, type TestPool } from '../helpers/rain-cli.js';

interface RebuildDoc {
  unreadBlocks: number;
  files: { name: string; state: string; datasets: number; blocks: Record<string, number>; repairedBlocks: number; unreadBlocks: number }[];
}

/**
 * A rebuild of a store that holds nothing (emptied and re-created, or replaced) reads k blocks of
 * each data set, writes only the lost store's, and reports the blocks it did not need as unread;
 * a bad block among those it reads is still found and repaired by the full check of its data set.
 */
describe('rebuild reads k blocks per data set', () => {
  const K = 2;
  const M = 2;
  let scratch: Scratch;
  let pool: TestPool;
  const content = seededBytes(300_000, 19);
  const datasets = Math.ceil(content.length / (K * 4096));

  beforeAll(async () => {
    scratch = await makeScratch();
    pool = await makePool(scratch, K, M, K + M, ['--block-size', '4K']);
    await fs.writeFile(path.join(scratch.root, 'big.bin'), content);
    expect((await pool.run(['put', path.join(scratch.root, 'big.bin')])).code).toBe(0);
    // Three small files share one pack: one data set, whatever the number of its files.
    await fs.mkdir(path.join(scratch.root, 'small'));
    for (const n of [1, 2, 3]) await fs.writeFile(path.join(scratch.root, 'small', `s${n}.txt`), seededBytes(100, n));
    expect((await pool.run(['put', '-r', path.join(scratch.root, 'small')])).code).toBe(0);
  });
  afterAll(async () => scratch.cleanup());

  async function rebuild(args: string[] = []): Promise<{ doc: RebuildDoc; file: RebuildDoc['files'][number] }> {
    const run = await pool.run(['rebuild', '--json', ...args]);
    expect(run.code).toBe(1); // problems found and repaired
    const doc = JSON.parse(run.stdout) as RebuildDoc;
    expect(doc.files.map((f) => f.name).sort()).toEqual(['big.bin', 'small/s1.txt', 'small/s2.txt', 'small/s3.txt']);
    return { doc, file: doc.files.find((f) => f.name === 'big.bin') as RebuildDoc['files'][number] };
  }

  async function expectHealthyAndReadable(): Promise<void> {
    expect((await pool.run(['verify', '--quiet'])).code).toBe(0);
    expect((await pool.run(['get', 'big.bin', '-o', '-'])).stdoutBytes.equals(content)).toBe(true);
  }

  it('an emptied store is refilled from k blocks of each data set; the others are not read', async () => {
    const emptied = pool.stores[1];
    for (const entry of await fs.readdir(emptied)) await fs.rm(path.join(emptied, entry), { recursive: true, force: true });
    const { doc, file } = await rebuild();
    // Every data set has one block per store (k + m stores): k read, one rewritten, m - 1 not read.
    // The pack is one data set: its unread blocks count once, not once per file packed in it.
    expect(doc.unreadBlocks).toBe((M - 1) * (datasets + 1));
    expect({ datasets: file.datasets, good: file.blocks.good, missing: file.blocks.missing, corrupt: file.blocks.corrupt, repaired: file.repairedBlocks, unread: file.unreadBlocks, state: file.state })
      .toEqual({ datasets, good: K * datasets, missing: datasets, corrupt: 0, repaired: datasets, unread: (M - 1) * datasets, state: 'healthy' });
    expect((await listBlockFiles(emptied)).length).toBe(datasets + 1);
    await expectHealthyAndReadable();
  });

  it('a corrupt data block on a surviving store is caught while a lost store is replaced, and repaired as a check would', async () => {
    const lost = pool.stores[2];
    await fs.rm(lost, { recursive: true, force: true });
    // A data block of big.bin: its directory holds a block per data set (the pack's holds one).
    const onStore = await listBlockFiles(pool.stores[0]);
    const bigDir = onStore.map((file) => path.dirname(file)).find((dir, _i, dirs) => dirs.filter((d) => d === dir).length > 1);
    const survivor = onStore.find((file) => path.dirname(file) === bigDir && Number(path.basename(file).split('.')[1]) < K) as string;
    const bytes = await fs.readFile(survivor);
    bytes[bytes.length - 5] ^= 0x5a;
    await fs.writeFile(survivor, bytes);
    const fresh = await scratch.dir('fresh');
    const { file } = await rebuild(['--replace', `${lost}=${fresh}`]);
    // The data set with the bad block was checked in full (every block read): one fewer left unread.
    expect({ corrupt: file.blocks.corrupt, repaired: file.repairedBlocks, unread: file.unreadBlocks, state: file.state })
      .toEqual({ corrupt: 1, repaired: datasets + 1, unread: (M - 1) * (datasets - 1), state: 'healthy' });
    expect((await listBlockFiles(fresh)).length).toBe(datasets + 1);
    await expectHealthyAndReadable();
  });
});
