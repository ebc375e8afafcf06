import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { expectExit } from '../helpers/cli-assertions.js';
import { snapshotScratch, type ScratchSnapshot } from '../helpers/pool-snapshot.js';
import { listBlockFiles, makePool, makeScratch, seededBytes, type RainRun, type Scratch, type TestPool } from '../helpers/rain-cli.js';
import { blocksOf, fileIdOf, flipBit, listing } from '../helpers/store-tampering.js';

/**
 * Issue findings 3, 5 and 6: nothing found inside a store is trusted, not its type, not where a
 * link points. A FIFO never makes rain wait, a link is never written or deleted through, and
 * `rain check` moves what does not belong aside and rebuilds what it displaced.
 */
describe('what rain finds inside a store', () => {
  let scratch: Scratch;
  let pool: TestPool;
  const a = seededBytes(150_000, 61);
  const b = seededBytes(90_000, 62);
  let fresh: ScratchSnapshot;

  // One pool built once; every test starts from a copy of it as it stood after the two puts.
  beforeAll(async () => {
    scratch = await makeScratch();
    pool = await makePool(scratch, 4, 2, 6, ['--block-size', '16K']);
    for (const [name, bytes] of [['a.bin', a], ['b.bin', b]] as const) {
      await fs.writeFile(path.join(scratch.root, name), bytes);
      expectExit(await pool.run(['put', path.join(scratch.root, name)]), 0);
    }
    fresh = await snapshotScratch(scratch);
  });
  beforeEach(async () => fresh.restore());
  afterAll(async () => scratch?.cleanup());

  /** A command that must finish (no hang on a FIFO) with one of the codes allowed. */
  async function finishes(args: string[], codes: number[]): Promise<RainRun> {
    const run = await pool.run(args, { timeoutMs: 60_000 });
    expect({ args, signal: run.signal, code: codes.includes(run.code ?? -1) ? 'allowed' : run.code, stderr: run.stderr })
      .toEqual({ args, signal: null, code: 'allowed', stderr: expect.any(String) });
    return run;
  }

  let readBacks = 0;
  /** Both files read back byte for byte, exit 0 or 1 (one get -r of the whole pool, not a get per file). */
  async function expectIntact(): Promise<void> {
    const out = path.join(scratch.root, `read-back-${readBacks++}`);
    const get = await pool.run(['get', '-r', '.', '-o', out], { timeoutMs: 60_000 });
    for (const [name, bytes] of [['a.bin', a], ['b.bin', b]] as const) {
      const same = (await fs.readFile(path.join(out, name)).catch(() => Buffer.alloc(0))).equals(bytes);
      expect({ name, code: get.code, same }).toEqual({ name, code: get.code === 1 ? 1 : 0, same: true });
    }
    await fs.rm(out, { recursive: true, force: true });
  }

  it('a FIFO in place of a block never makes verify, get, put or rebuild wait; rebuild moves it aside', async () => {
    const [victim] = await blocksOf(pool.stores, await fileIdOf(pool.stores[0], 'a.bin'));
    await fs.rm(victim.path);
    execFileSync('mkfifo', [victim.path]);
    const verify = await finishes(['verify'], [1]);
    expect(verify.stdout).toMatch(/FIFO/);
    await finishes(['get', 'a.bin', '-o', path.join(scratch.root, 'a.out')], [1]);
    expect((await fs.readFile(path.join(scratch.root, 'a.out'))).equals(a)).toBe(true);
    await finishes(['put', path.join(scratch.root, 'b.bin'), '--as', 'c.bin'], [0]);
    const rebuild = await finishes(['rebuild', '--json'], [1]);
    expect((JSON.parse(rebuild.stdout) as { actions: string[] }).actions).toEqual(expect.arrayContaining([expect.stringMatching(/FIFO.*moved to quarantine\//)]));
    await finishes(['verify'], [0]);
    await expectIntact();
  });

  it('a FIFO in place of one store\'s rain-pool.json never makes a command wait; check rewrites it', async () => {
    const manifest = path.join(pool.stores[3], 'rain-pool.json');
    await fs.rm(manifest);
    execFileSync('mkfifo', [manifest]);
    await finishes(['status'], [1]);
    await finishes(['verify'], [1]);
    await expectIntact();
    await finishes(['put', path.join(scratch.root, 'a.bin'), '--as', 'c.bin'], [0, 1]);
    await finishes(['check'], [1]);
    expect((await fs.lstat(manifest)).isFile()).toBe(true);
    await finishes(['status'], [0]);
  });

  it('a directory in place of a block and of rain-pool.json: check moves both aside and rebuilds them', async () => {
    const [victim] = await blocksOf(pool.stores, await fileIdOf(pool.stores[0], 'b.bin'));
    await fs.rm(victim.path);
    await fs.mkdir(path.join(victim.path, 'inside'), { recursive: true });
    const manifest = path.join(pool.stores[2], 'rain-pool.json');
    await fs.rm(manifest);
    await fs.mkdir(manifest);
    await finishes(['verify'], [1]);
    await finishes(['check'], [1]);
    expect((await fs.lstat(victim.path)).isFile()).toBe(true);
    expect((await fs.lstat(manifest)).isFile()).toBe(true);
    expect((await fs.readdir(path.join(pool.stores[2], 'quarantine'))).length).toBeGreaterThan(0);
    await finishes(['verify'], [0]);
    await expectIntact();
  });

  it('links planted at tmp/, blocks/HH and catalog/HH are never written or deleted through', async () => {
    const outside = await scratch.dir('outside');
    const fileId = await fileIdOf(pool.stores[0], 'a.bin');
    // tmp/ of store 1 points outside; blocks/HH holding a.bin on store 2 and a catalog bucket of store 3 are links to copies outside.
    await fs.rm(path.join(pool.stores[1], 'tmp'), { recursive: true, force: true });
    await fs.mkdir(path.join(outside, 'tmp'));
    await fs.symlink(path.join(outside, 'tmp'), path.join(pool.stores[1], 'tmp'));
    for (const [store, dir] of [[2, path.join('blocks', fileId.slice(0, 2))], [3, path.join('catalog', (await fs.readdir(path.join(pool.stores[3], 'catalog')))[0])]] as const) {
      const real = path.join(pool.stores[store], dir);
      const copy = path.join(outside, `store${store}-${path.basename(dir)}`);
      await fs.cp(real, copy, { recursive: true });
      await fs.rm(real, { recursive: true });
      await fs.symlink(copy, real);
    }
    // Block-named files in the link targets that an overwrite's garbage collection could mistake for its own.
    const before = await listing(outside);

    await finishes(['put', path.join(scratch.root, 'b.bin'), '--as', 'a.bin'], [1]);
    await finishes(['put', path.join(scratch.root, 'a.bin'), '--as', 'd.bin'], [1]);
    await finishes(['rm', 'b.bin'], [0, 1]);
    expect(await listing(outside)).toEqual(before);
    const check = await finishes(['check', '--json'], [1]);
    expect((JSON.parse(check.stdout) as { actions: string[] }).actions.filter((line) => /symbolic link.*moved to quarantine/.test(line))).toHaveLength(3);
    expect(await listing(outside)).toEqual(before);
    await finishes(['verify'], [0]);
    const got = await pool.run(['get', 'a.bin']);
    expect(got.stdoutBytes.equals(b)).toBe(true);
    expect((await pool.run(['get', 'd.bin'])).stdoutBytes.equals(a)).toBe(true);
  });

  it('blocks copied in where they do not belong are collected by check', async () => {
    const aBlocks = await blocksOf(pool.stores, await fileIdOf(pool.stores[0], 'a.bin'));
    const first = aBlocks[0];
    // The same block name on another store (placement gives that store another block index), and a data set the file does not have.
    const other = aBlocks.find((x) => x.datasetIndex === first.datasetIndex && x.store !== first.store) as typeof first;
    const wrongStore = path.join(path.dirname(other.path), path.basename(first.path));
    const beyondEnd = path.join(path.dirname(first.path), path.basename(first.path).replace(/^\d+\./, '99.'));
    await fs.copyFile(first.path, wrongStore);
    await fs.copyFile(first.path, beyondEnd);
    await finishes(['check'], [0, 1]);
    await expect(fs.stat(wrongStore)).rejects.toThrow();
    await expect(fs.stat(beyondEnd)).rejects.toThrow();
    await finishes(['verify'], [0]);
    await expectIntact();
  });

  it('a bit-flipped rain-store.json: the store keeps serving, check rewrites it from the manifest', async () => {
    await flipBit(path.join(pool.stores[4], 'rain-store.json'));
    const status = await finishes(['status'], [1]);
    expect(status.stdout).toMatch(/identity file rain-store\.json damaged/);
    await expectIntact();
    await finishes(['put', path.join(scratch.root, 'a.bin'), '--as', 'e.bin'], [0]);
    await finishes(['check'], [1]);
    await finishes(['status'], [0]);
    await finishes(['verify'], [0]);
  });

  it('identity and manifest both damaged: rebuild recognises the store by its blocks and restores its identity', async () => {
    await flipBit(path.join(pool.stores[4], 'rain-store.json'));
    await flipBit(path.join(pool.stores[4], 'rain-pool.json'));
    await finishes(['status'], [1]);
    await expectIntact();
    const rebuild = await finishes(['rebuild', '--json'], [1]);
    expect((JSON.parse(rebuild.stdout) as { rebuildActions: string[] }).rebuildActions).toEqual([expect.stringMatching(/^store 4 .*identity file rewritten/)]);
    await finishes(['status'], [0]);
    await finishes(['verify'], [0]);
  });

  it('junk epoch claims and an epochs/ that is a file: check and rebuild go on, never adopt the junk, and a second lost store is restored', async () => {
    for (const store of [1, 2]) await fs.mkdir(path.join(pool.stores[store], 'epochs'), { recursive: true });
    await fs.writeFile(path.join(pool.stores[1], 'epochs', '99999999999999999999.claim'), 'junk');
    await fs.writeFile(path.join(pool.stores[2], 'epochs', '9007199254740993.claim'), 'junk');
    await fs.rm(path.join(pool.stores[3], 'epochs'), { recursive: true, force: true });
    await fs.writeFile(path.join(pool.stores[3], 'epochs'), 'not a directory');
    // And a store lost for real: it must be restorable despite the junk elsewhere.
    await fs.rm(pool.stores[5], { recursive: true });
    await fs.mkdir(pool.stores[5]);
    const rebuild = await finishes(['rebuild', '--json'], [1]);
    const doc = JSON.parse(rebuild.stdout) as { epoch: number; actions: string[] };
    expect(doc.epoch).toBeLessThan(100);
    expect(doc.actions.filter((line) => /junk in epochs|epochs \(a regular file/.test(line))).toHaveLength(3);
    for (const store of pool.stores) {
      for (const name of await fs.readdir(path.join(store, 'epochs'))) expect(Number(name.split('.')[0])).toBeLessThan(100);
    }
    await finishes(['check'], [0]);
    await finishes(['verify'], [0]);
    await expectIntact();
    expect((await listBlockFiles(pool.stores[5])).length).toBeGreaterThan(0);
  });
});
