/**
 * Packed small files (docs/FORMAT.md §5.1, docs/DECISIONS.md D2) through the real CLI on real
 * directories: a put -r of many small files writes a few packs instead of k + m blocks per file;
 * every file reads back (get, get to stdout, get -r); a pack with a damaged or missing block reads
 * around it and is repaired by check, rebuilt after a store is emptied; replaced and deleted
 * files stay right; sync leaves unchanged packed files alone; a pack no file refers to any more
 * is removed by a check.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { filesUnder } from '../helpers/cli-assertions.js';
import { listBlockFiles, makePool, makeScratch, seededBytes, type Scratch, type TestPool } from '../helpers/rain-cli.js';

let scratch: Scratch;
let pool: TestPool;
let src: string;

beforeEach(async () => {
  scratch = await makeScratch('rain-packs-');
  pool = await makePool(scratch, 2, 1);
  src = await scratch.dir('src');
});
afterEach(async () => scratch.cleanup());

/** `count` files of 1 B .. 6 KiB under src/ (a directory per 50), returns name -> bytes. */
async function writeTree(count: number, seed: number): Promise<Map<string, Buffer>> {
  const contents = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const dir = path.join(src, `d${Math.floor(i / 50)}`);
    await fs.mkdir(dir, { recursive: true });
    const bytes = seededBytes(1 + ((i * 613 + seed * 7) % 6000), i + seed * 100_000 + 1);
    await fs.writeFile(path.join(dir, `f${i}`), bytes);
    contents.set(`src/d${Math.floor(i / 50)}/f${i}`, bytes);
  }
  return contents;
}

/** Gets the whole pool; `readAround` is what stderr must say when blocks had to be read around (exit 1). */
async function everything(readAround?: RegExp): Promise<Map<string, Buffer>> {
  const dest = path.join(scratch.root, `out-${Math.random().toString(36).slice(2)}`);
  const run = await pool.run(['get', '-r', '.', '-o', dest]);
  if (readAround) {
    expect(run.stderr).toMatch(readAround);
    expect(run.code).toBe(1);
  } else {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  }
  const found = await filesUnder(dest);
  await fs.rm(dest, { recursive: true, force: true });
  return found;
}

/** Block files whose header name is empty: pack blocks (FORMAT.md §5.1). */
async function packBlocks(store: string): Promise<string[]> {
  const found: string[] = [];
  for (const file of await listBlockFiles(store)) {
    const header = (await fs.readFile(file)).subarray(0, 94);
    if (header.readUInt16LE(88) === 0) found.push(file);
  }
  return found;
}

describe('packed small files', () => {
  it('a put -r of 400 small files writes a few packs, not a block per file per store, and every file reads back every way', async () => {
    const contents = await writeTree(400, 1);
    const put = await pool.run(['put', '-r', src]);
    expect(put.code).toBe(0);
    for (const store of pool.stores) {
      const blocks = await listBlockFiles(store);
      // 400 files of ~3 KiB (1.2 MB) fit in one 2 MiB pack (k = 2, 1 MiB blocks): one block per store.
      expect(blocks.length).toBeLessThanOrEqual(2);
      expect(await packBlocks(store)).toEqual(blocks);
    }
    expect(await everything()).toEqual(contents);
    const one = await pool.run(['get', 'src/d3/f151']);
    expect(one.code).toBe(0);
    expect(one.stdoutBytes.equals(contents.get('src/d3/f151') as Buffer)).toBe(true);
    const out = path.join(scratch.root, 'one');
    expect((await pool.run(['get', 'src/d7/f399', '-o', out])).code).toBe(0);
    expect((await fs.readFile(out)).equals(contents.get('src/d7/f399') as Buffer)).toBe(true);
    const ls = JSON.parse((await pool.run(['ls', '--json'])).stdout) as { files: { name: string; sizeBytes: number; health: string }[] };
    expect(ls.files).toHaveLength(400);
    expect(ls.files.every((f) => f.sizeBytes === contents.get(f.name)?.length && f.health === 'ok')).toBe(true);
    expect((await pool.run(['verify'])).code).toBe(0);
  }, 120_000);

  it('a pack block that is corrupt or missing is read around, reported by verify, repaired by check, and rebuilt onto an emptied store', async () => {
    const contents = await writeTree(200, 2);
    expect((await pool.run(['put', '-r', src])).code).toBe(0);
    // A data block (b < k): a read needs it, so the get reads around it.
    const dataBlocks = (await Promise.all(pool.stores.map(packBlocks))).flat().filter((f) => Number(path.basename(f).split('.')[1]) < 2);
    const [block] = dataBlocks;
    const bytes = await fs.readFile(block);
    bytes[bytes.length - 10] ^= 0xff;
    await fs.writeFile(block, bytes);
    // One pack data set read around one bad block, however many files it holds.
    expect(await everything(/reconstructed 1 data sets of 200 files from parity \(1 blocks missing or bad\)/)).toEqual(contents);
    const verify = await pool.run(['verify', '--json']);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/corrupt/);
    const check = await pool.run(['check', '--json']);
    expect(check.code).toBe(1);
    // The pack's repair is reported for each file in it, by the file's name.
    const repaired = (JSON.parse(check.stdout) as { files: { name: string; repairedBlocks: number }[] }).files.filter((f) => f.repairedBlocks === 1);
    expect(repaired.map((f) => f.name).sort()).toEqual([...contents.keys()].sort());
    expect((await pool.run(['verify'])).code).toBe(0);
    // A whole store lost (a dead disk replaced by a new one): rebuild brings its pack blocks back.
    // The store lost is one holding a pack data block, so the get must read around it (a store
    // holding only parity is not needed by a read, which then exits 0: the test would be a lottery).
    const holdsData = await Promise.all(pool.stores.map(async (store) => (await packBlocks(store)).some((f) => Number(path.basename(f).split('.')[1]) < 2)));
    // (Not store 0, which the test's commands name with -p; the two data blocks are on two stores.)
    const lost = pool.stores[holdsData.findIndex((holds, i) => holds && i > 0)];
    await fs.rm(lost, { recursive: true, force: true });
    expect(await everything(/reconstructed/)).toEqual(contents);
    const fresh = await scratch.dir('new-disk');
    expect((await pool.run(['rebuild', '--replace', `${lost}=${fresh}`])).code).toBe(1);
    expect((await packBlocks(fresh)).length).toBeGreaterThan(0);
    expect((await pool.run(['verify'])).code).toBe(0);
    expect(await everything()).toEqual(contents);
  }, 180_000);

  it('replaced and deleted packed files stay right through checks; sync leaves unchanged packed files alone; an unreferenced pack is removed', async () => {
    const contents = await writeTree(120, 3);
    expect((await pool.run(['put', '-r', src])).code).toBe(0);
    const firstPacks = await packBlocks(pool.stores[0]);
    // One file grows past the pack limit (its own data sets now), one is deleted.
    const big = seededBytes(300_000, 99);
    await fs.writeFile(path.join(src, 'd0', 'f5'), big);
    contents.set('src/d0/f5', big);
    expect((await pool.run(['put', path.join(src, 'd0', 'f5'), '--as', 'src/d0/f5'])).code).toBe(0);
    expect((await pool.run(['rm', 'src/d1/f60'])).code).toBe(0);
    await fs.rm(path.join(src, 'd1', 'f60'));
    contents.delete('src/d1/f60');
    expect((await pool.run(['check'])).code).toBeLessThanOrEqual(1);
    expect(await everything()).toEqual(contents);
    // Nothing changed: sync reads and compares, writes nothing.
    const sync = await pool.run(['sync', src, '--as', 'src']);
    expect(sync.code).toBe(0);
    expect(sync.stdout).toMatch(/0 added, 0 updated, 119 unchanged/);
    // Every file changes: sync writes them all again, into new packs; the old pack is then unreferenced.
    const next = await writeTree(120, 4);
    next.delete('src/d1/f60');
    await fs.rm(path.join(src, 'd1', 'f60'));
    expect((await pool.run(['sync', src, '--as', 'src'])).code).toBe(0);
    expect(await everything()).toEqual(next);
    const withGrace = (ms: number) => ({ env: { RAIN_PACK_GRACE_MS: String(ms) } });
    // Within the grace period (a writer may be about to commit its files) the old pack stays...
    expect((await pool.run(['check'], withGrace(3_600_000))).code).toBeLessThanOrEqual(1);
    const stillThere = await packBlocks(pool.stores[0]);
    expect(firstPacks.every((b) => stillThere.includes(b))).toBe(true);
    // ...past it, the check removes it, and every file still reads.
    expect((await pool.run(['check'], withGrace(0))).code).toBeLessThanOrEqual(1);
    const after = await packBlocks(pool.stores[0]);
    expect(firstPacks.some((b) => after.includes(b))).toBe(false);
    expect(await everything()).toEqual(next);
    expect((await pool.run(['verify'])).code).toBe(0);
  }, 180_000);
});
