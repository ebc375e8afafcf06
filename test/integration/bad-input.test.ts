/**
 * Bad input, end to end through the real CLI. The contract (from the issue): every bad input gets
 * ONE line on stderr starting with "rain: ", the documented exit code, and nothing is damaged:
 * the pool still verifies, stored files still read back byte-identical, no stray files appear.
 *   0 ok | 1 repairable/repaired | 2 data lost | 64 usage | 65 bad input data | 74 I/O failure
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from '@jest/globals';
import { rain, makeScratch, makePool, seededBytes, listBlockFiles, type RainRun, type Scratch, type TestPool } from '../helpers/rain-cli.js';
import { expectExit, expectOneErrorLine, sha256, snapshotTree, stderrLines } from '../helpers/cli-assertions.js';
import { mountTmpfs, unmountAll, skipBecause } from './fs-mounts.js';

// ---------------------------------------------------------------------------------------------
// helpers

async function snapshotStores(stores: readonly string[]): Promise<Record<string, string>[]> {
  return Promise.all(stores.map((s) => snapshotTree(s)));
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(() => true, () => false);
}

async function registryText(scratch: Scratch): Promise<string | undefined> {
  return fs.readFile(path.join(scratch.env.RAIN_CONFIG_DIR, 'pools.json'), 'utf8').catch(() => undefined);
}

let readBackCounter = 0;
/** `rain get NAME -o FILE` and compare with the original bytes. */
async function expectReadsBack(pool: TestPool, name: string, original: Buffer, outDir: string, code = 0): Promise<RainRun> {
  const dest = path.join(outDir, `readback-${readBackCounter++}`);
  const run = await pool.run(['get', name, '-o', dest]);
  expectExit(run, code);
  const got = await fs.readFile(dest);
  expect({ size: got.length, sha256: sha256(got) }).toEqual({ size: original.length, sha256: sha256(original) });
  await fs.rm(dest, { force: true });
  return run;
}

async function listedNames(pool: TestPool, exitCode = 0): Promise<string[]> {
  const run = await pool.run(['ls', '--json']);
  expectExit(run, exitCode);
  return (JSON.parse(run.stdout) as { files: { name: string }[] }).files.map((f) => f.name).sort();
}

/** Block files across the stores, as store-relative paths, for "nothing was written" checks. */
async function allBlockFiles(stores: readonly string[]): Promise<string[][]> {
  return Promise.all(stores.map(async (s) => (await listBlockFiles(s)).map((f) => path.relative(s, f))));
}

/**
 * Files (not directories) under each store: what a failed operation must not leave behind. The
 * notes under faults/ that a failed write leaves on purpose (so status can tell) are left out.
 */
async function allFiles(stores: readonly string[]): Promise<string[][]> {
  return Promise.all(stores.map(async (s) => Object.entries(await snapshotTree(s))
    .filter(([k, v]) => v !== 'dir' && !k.startsWith('faults/')).map(([k, v]) => `${k} ${v}`).sort()));
}

/** status after a write failed on store `slot`: degraded (exit 1), naming the store and the disk being full. */
async function expectStatusNamesFullStore(pool: TestPool, slot: number): Promise<void> {
  const status = await pool.run(['status', '--json']);
  expectExit(status, 1);
  const doc = JSON.parse(status.stdout) as { health: string; problems: string[]; stores: { slot: number; writeFault?: { errno?: string } }[] };
  expect(doc.health).toBe('degraded');
  expect(doc.stores.find((s) => s.slot === slot)?.writeFault?.errno).toBe('ENOSPC');
  expect(doc.problems.join('\n')).toMatch(new RegExp(`store ${slot} .*writes failed .*ENOSPC.*free space there`));
}

// ---------------------------------------------------------------------------------------------

describe('rain init: bad -k, -m, --block-size and store lists (argument checks; run concurrently)', () => {
  async function withScratch(body: (scratch: Scratch) => Promise<void>): Promise<void> {
    const scratch = await makeScratch('rain-bad-args-');
    try {
      await body(scratch);
    } finally {
      await scratch.cleanup();
    }
  }

  async function threeDirs(scratch: Scratch): Promise<string[]> {
    return Promise.all(['a', 'b', 'c'].map((n) => scratch.dir(n)));
  }

  it.concurrent('fewer stores than k + m -> 64 and nothing written', () => withScratch(async (scratch) => {
    const dirs = await threeDirs(scratch);
    const run = await rain(['init', '-k', '2', '-m', '2', ...dirs], { env: scratch.env });
    expectOneErrorLine(run, 64, /3 stores.*k \+ m = 4/);
    expect(await snapshotStores(dirs)).toEqual([{}, {}, {}]);
    expect(await registryText(scratch)).toBeUndefined();
  }));

  it.concurrent.each([
    ['k = 0', ['-k', '0', '-m', '1'], /\bk must be/],
    ['m = 0', ['-k', '2', '-m', '0'], /\bm must be/],
    ['k + m > 255', ['-k', '200', '-m', '56'], /k \+ m must be at most 255/],
    ['non-numeric k', ['-k', 'two', '-m', '1'], /-k must be a whole number.*two/],
    ['fractional k', ['-k', '2.5', '-m', '1'], /-k must be a whole number/],
    ['non-numeric m', ['-k', '2', '-m', 'x'], /-m must be a whole number/],
    // A header holds a data set's length in 32 bits (docs/FORMAT.md §3).
    ['k x block size of 4 GiB or more', ['-k', '64', '-m', '1', '--block-size', '64M'], /k x block size must be under 4 GiB/],
  ])('%s -> 64, one line, nothing written', (_what, geometry, mentions) => withScratch(async (scratch) => {
    const dirs = await threeDirs(scratch);
    const run = await rain(['init', ...geometry, ...dirs], { env: scratch.env });
    expectOneErrorLine(run, 64, mentions);
    expect(await snapshotStores(dirs)).toEqual([{}, {}, {}]);
    expect(await registryText(scratch)).toBeUndefined();
  }));

  it.concurrent.each([
    ['abc', /block-size.*'abc' is not a size/],
    ['1.5M', /block-size.*'1\.5M' is not a size/],
    ['1000', /block size must be between 4096/],
    ['128M', /block size must be between/],
    ['0', /block size must be between/],
    ['4100', /block size must be a multiple of 16/],
  ])('--block-size %s -> 64, one line, nothing written', (size, mentions) => withScratch(async (scratch) => {
    const dirs = await threeDirs(scratch);
    const run = await rain(['init', '-k', '2', '-m', '1', '--block-size', size, ...dirs], { env: scratch.env });
    expectOneErrorLine(run, 64, mentions);
    expect(await snapshotStores(dirs)).toEqual([{}, {}, {}]);
    expect(await registryText(scratch)).toBeUndefined();
  }));

  it.concurrent.each([
    ['named twice', (a: string) => a],
    ['named twice, once with a trailing slash', (a: string) => `${a}/`],
    ['named twice, once through a symlink', (a: string) => path.join(path.dirname(a), 'link-to-a')],
  ])('the same directory %s -> 64, one line, nothing written', (_what, alias) => withScratch(async (scratch) => {
    const [a, b, c] = await threeDirs(scratch);
    await fs.symlink(a, path.join(scratch.root, 'link-to-a'));
    const run = await rain(['init', '-k', '2', '-m', '1', a, b, c, alias(a)], { env: scratch.env });
    expectOneErrorLine(run, 64, /same directory/);
    expect(await snapshotStores([a, b, c])).toEqual([{}, {}, {}]);
    expect(await registryText(scratch)).toBeUndefined();
  }));
});

describe('rain init: unusable directories', () => {
  let scratch: Scratch;

  beforeEach(async () => {
    scratch = await makeScratch('rain-bad-init-');
  });

  afterEach(async () => {
    await unmountAll();
    await scratch.cleanup();
  });

  async function freshDirs(...names: string[]): Promise<string[]> {
    return Promise.all(names.map((n) => scratch.dir(n)));
  }

  /** The given directories hold no pool markers, and a new init over them (plus `spare`) works. */
  async function expectUsableAgain(dirs: readonly string[], spare: string[] = []): Promise<void> {
    for (const dir of dirs) {
      expect({ dir, identity: await exists(path.join(dir, 'rain-store.json')), manifest: await exists(path.join(dir, 'rain-pool.json')) })
        .toEqual({ dir, identity: false, manifest: false });
    }
    const again = await rain(['init', '-k', '2', '-m', '1', '--block-size', '4K', ...dirs, ...spare], { env: scratch.env });
    expectExit(again, 0);
  }

  it.each([
    ['does not exist', async (root: string) => path.join(root, 'no-such-dir'), /no-such-dir.*does not exist/],
    ['is a regular file', async (root: string) => {
      const file = path.join(root, 'plain-file');
      await fs.writeFile(file, 'x');
      return file;
    }, /plain-file.*not a directory/],
  ])('a STORE that %s -> 64, one line, and the other directories are left exactly as they were', async (_what, makeBad, mentions) => {
    const good = await freshDirs('a', 'b');
    const bad = await makeBad(scratch.root);
    const before = await snapshotStores(good);
    const run = await rain(['init', '-k', '2', '-m', '1', ...good, bad], { env: scratch.env });
    expectOneErrorLine(run, 64, mentions);
    expect(await registryText(scratch)).toBeUndefined();
    const after = await snapshotStores(good);
    await expectUsableAgain(good, [await scratch.dir('c')]);
    // Last: the directories named on the failed command line must not have gained anything.
    expect(after).toEqual(before);
  });

  it('a store on a read-only file system -> 74, one line; no half-created pool in the other directories, which init can use afterwards', async () => {
    const [a, b, ro] = await freshDirs('a', 'b', 'ro');
    const mount = await mountTmpfs(ro, 'ro,size=1m');
    if (!mount.ok) {
      skipBecause('init over a read-only store', mount);
      return;
    }
    const before = await snapshotStores([a, b]);
    const run = await rain(['init', '-k', '2', '-m', '1', a, b, ro], { env: scratch.env });
    expectOneErrorLine(run, 74, /ro.*not writable/);
    expect(await registryText(scratch)).toBeUndefined();
    expect(await snapshotTree(ro)).toEqual({});
    const after = await snapshotStores([a, b]);
    await expectUsableAgain([a, b], [await scratch.dir('c')]);
    // Last: a failed init must leave the directories it was given as they were (no stray tmp/ etc.).
    expect(after).toEqual(before);
  });
});

// ---------------------------------------------------------------------------------------------

describe('rain init over directories that already hold a pool', () => {
  let scratch: Scratch;
  let existing: TestPool;
  let content: Buffer;

  beforeAll(async () => {
    scratch = await makeScratch('rain-bad-existing-');
    existing = await makePool(scratch, 2, 1, 3, ['--block-size', '4K', '--name', 'existing']);
    content = seededBytes(40_000, 11);
    const src = path.join(scratch.root, 'content.bin');
    await fs.writeFile(src, content);
    expectExit(await existing.run(['put', src, '--as', 'content.bin']), 0);
  });

  afterAll(async () => {
    await scratch?.cleanup();
  });

  async function expectExistingUntouched(before: Record<string, string>[], registryBefore: string | undefined): Promise<void> {
    expect(await snapshotStores(existing.stores)).toEqual(before);
    expect(await registryText(scratch)).toBe(registryBefore);
    const [verify] = await Promise.all([
      existing.run(['verify']),
      expectReadsBack(existing, 'content.bin', content, scratch.root),
    ]);
    expectExit(verify, 0);
  }

  it('a store of another pool among new directories -> 64, one line; that pool is untouched; the new directories are left as they were', async () => {
    const fresh = await Promise.all(['new1', 'new2'].map((n) => scratch.dir(n)));
    const before = await snapshotStores(existing.stores);
    const freshBefore = await snapshotStores(fresh);
    const registryBefore = await registryText(scratch);
    const run = await rain(['init', '-k', '2', '-m', '1', ...fresh, existing.stores[1]], { env: scratch.env });
    expectOneErrorLine(run, 64, new RegExp(`${existing.stores[1].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*already holds a rain store`));
    const freshAfter = await snapshotStores(fresh);
    await expectExistingUntouched(before, registryBefore);
    expect(freshAfter).toEqual(freshBefore);
  });

  it('init over the directories of an existing pool -> 64, one line, and the pool is untouched', async () => {
    const before = await snapshotStores(existing.stores);
    const registryBefore = await registryText(scratch);
    const run = await rain(['init', '-k', '1', '-m', '2', '--name', 'hijack', ...existing.stores], { env: scratch.env });
    expectOneErrorLine(run, 64, /already holds a rain store/);
    await expectExistingUntouched(before, registryBefore);
  });
});

// ---------------------------------------------------------------------------------------------

describe('put / get / rm / pool selection: bad input changes nothing', () => {
  let scratch: Scratch;
  let pool: TestPool;
  let outDir: string;
  let source: string;
  const files: Record<string, Buffer> = {
    'docs/a.bin': seededBytes(300 * 1024 + 7, 1),
    'b.bin': seededBytes(100 * 1024, 2),
  };
  let baseline: Record<string, string>[];

  beforeAll(async () => {
    scratch = await makeScratch('rain-bad-input-');
    pool = await makePool(scratch, 2, 1, 3, ['--block-size', '64K', '--name', 'badinput']);
    const src = await scratch.dir('src');
    outDir = await scratch.dir('out');
    for (const [name, bytes] of Object.entries(files)) {
      const file = path.join(src, path.basename(name));
      await fs.writeFile(file, bytes);
      expectExit(await pool.run(['put', file, '--as', name]), 0);
    }
    source = path.join(src, 'b.bin');
    baseline = await snapshotStores(pool.stores);
  });

  afterAll(async () => {
    await scratch?.cleanup();
  });

  afterEach(async () => {
    // Whatever the test did, the stores must be exactly as they were, and nothing left in out/;
    // only the closing verify adds something, by design: its record of the data sets it found
    // good (scrub/, docs/FORMAT.md §8), which no refused command can reach.
    const withoutScrubLogs = (trees: Record<string, string>[]) => trees.map((tree) => Object.fromEntries(Object.entries(tree).filter(([name]) => !name.startsWith('scrub/'))));
    expect(withoutScrubLogs(await snapshotStores(pool.stores))).toEqual(withoutScrubLogs(baseline));
    expect(await fs.readdir(outDir)).toEqual([]);
  });

  describe('put', () => {
    it.each([
      ['a .. segment', '../../etc/passwd', /invalid name.*'\.\.'/],
      ['an absolute name', '/etc/passwd', /invalid name.*absolute/],
      ['a newline (control character)', 'evil\nname', /invalid name.*control character/],
      ['an empty segment', 'a//b', /invalid name.*empty path segment/],
    ])('--as with %s -> 64, one line, nothing stored', async (_what, name, mentions) => {
      const blocksBefore = await allBlockFiles(pool.stores);
      const run = await pool.run(['put', source, '--as', name]);
      expectOneErrorLine(run, 64, mentions);
      expect(await listedNames(pool)).toEqual(Object.keys(files).sort());
      expect(await allBlockFiles(pool.stores)).toEqual(blocksBefore);
    });

    // A name inside a tree may hold any bytes now (a newline is stored as 'bad\\nname.bin', see
    // tree-metadata.test.ts); what is still refused as a whole is an invalid --as prefix.
    it('-r with an invalid --as prefix -> 64 and none of its files stored', async () => {
      const dir = path.join(scratch.root, 'tree');
      await fs.mkdir(path.join(dir, 'sub'), { recursive: true });
      await fs.writeFile(path.join(dir, 'good.bin'), seededBytes(5000, 3));
      await fs.writeFile(path.join(dir, 'sub', 'bad\nname.bin'), seededBytes(5000, 4));
      try {
        const run = await pool.run(['put', dir, '-r', '--as', '../escape']);
        expectOneErrorLine(run, 64, /invalid name.*'\.\.'/);
        expect(await listedNames(pool)).toEqual(Object.keys(files).sort());
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    });

    it('a SOURCE that does not exist -> 64, one line', async () => {
      const missing = path.join(scratch.root, 'no-such-source.bin');
      const run = await pool.run(['put', missing]);
      expectOneErrorLine(run, 64, /no-such-source\.bin.*no such file/);
    });

    it('a directory without -r -> 64, one line', async () => {
      const run = await pool.run(['put', path.dirname(source)]);
      expectOneErrorLine(run, 64, /is a directory.*-r/);
    });

    it('a SOURCE that is neither a file nor a directory (/dev/null) -> 65, one line', async () => {
      const run = await pool.run(['put', '/dev/null', '--as', 'null.bin']);
      expectOneErrorLine(run, 65, /\/dev\/null.*neither a regular file nor a directory/);
    });
  });

  describe('get', () => {
    it('a NAME that does not exist -> 64, one line, no file written (and --json says so on stdout)', async () => {
      const dest = path.join(outDir, 'nope.bin');
      const run = await pool.run(['get', 'nope.bin', '-o', dest]);
      expectOneErrorLine(run, 64, /nope\.bin.*no such file/);
      const json = await pool.run(['get', 'nope.bin', '-o', dest, '--json']);
      expect(json.code).toBe(64);
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, exitCode: 64 });
    });

    it.each(['../b.bin', '/b.bin', 'docs//a.bin', 'b.bin\n'])('an invalid NAME %j -> 64, one line', async (name) => {
      const run = await pool.run(['get', name, '-o', path.join(outDir, 'x.bin')]);
      expectOneErrorLine(run, 64, /invalid name/);
    });

    it('-o into a directory that does not exist -> 64, one line, and the directory is not created', async () => {
      const dest = path.join(scratch.root, 'no-such-dir', 'b.bin');
      const run = await pool.run(['get', 'b.bin', '-o', dest]);
      expectOneErrorLine(run, 64, /no-such-dir.*does not exist/);
      expect(await exists(path.dirname(dest))).toBe(false);
    });
  });

  describe('rm', () => {
    it('a NAME that does not exist -> 64, one line, and nothing is removed (not even the names that exist)', async () => {
      const alone = await pool.run(['rm', 'nope.bin']);
      expectOneErrorLine(alone, 64, /nope\.bin.*no such file/);
      const mixed = await pool.run(['rm', 'b.bin', 'nope.bin']);
      expectOneErrorLine(mixed, 64, /nope\.bin.*no such file/);
      expect(await listedNames(pool)).toEqual(Object.keys(files).sort());
      await expectReadsBack(pool, 'b.bin', files['b.bin'], outDir);
    });

    it('an invalid NAME -> 64, one line', async () => {
      const run = await pool.run(['rm', '../b.bin']);
      expectOneErrorLine(run, 64, /invalid name/);
    });
  });

  describe('choosing the pool', () => {
    it('-p at a directory that is not a pool -> 64, one line, and the directory is left alone', async () => {
      const notPool = await scratch.dir('not-a-pool');
      const run = await rain(['ls', '-p', notPool], { env: scratch.env });
      expectOneErrorLine(run, 64, /not-a-pool.*not a rain pool/);
      const put = await rain(['put', source, '-p', notPool], { env: scratch.env });
      expectOneErrorLine(put, 64, /not-a-pool.*not a rain pool/);
      expect(await fs.readdir(notPool)).toEqual([]);
    });

    it('-p at a path that does not exist -> 64, one line', async () => {
      const run = await rain(['status', '-p', path.join(scratch.root, 'nowhere')], { env: scratch.env });
      expectOneErrorLine(run, 64, /nowhere/);
    });

    it('no -p and no RAIN_POOL -> 64, one line', async () => {
      const run = await rain(['ls'], { env: { ...scratch.env, RAIN_POOL: undefined } });
      expectOneErrorLine(run, 64, /no pool given/);
    });

    it('a pool name that is not registered (via -p or RAIN_POOL) -> 64, one line', async () => {
      const byFlag = await rain(['ls', '-p', 'no-such-pool'], { env: scratch.env });
      expectOneErrorLine(byFlag, 64, /no-such-pool/);
      const byEnv = await rain(['ls'], { env: { ...scratch.env, RAIN_POOL: 'no-such-pool' } });
      expectOneErrorLine(byEnv, 64, /no-such-pool/);
    });

    it('the registered pool name works (control for the cases above)', async () => {
      const run = await rain(['ls', '-p', 'badinput', '--json'], { env: scratch.env });
      expectExit(run, 0);
      expect((JSON.parse(run.stdout) as { files: { name: string }[] }).files.map((f) => f.name).sort()).toEqual(Object.keys(files).sort());
    });
  });

  describe('command-line parsing', () => {
    it.each([
      ['an unknown option', (p: string) => ['ls', '-p', p, '--bogus'], /bogus/],
      ['an unknown option before the command', (p: string) => ['--bogus', 'ls', '-p', p], /bogus/],
      ['an unknown command', () => ['frobnicate'], /frobnicate/],
      ['a missing argument', (p: string) => ['get', '-p', p], /NAME|argument/],
      ['a missing option value', (p: string) => ['get', '-p', p, 'b.bin', '-o'], /-o|output/],
    ])('%s -> 64 and one "rain: " line on stderr', async (_what, args, mentions) => {
      const run = await rain(args(pool.stores[0]), { env: scratch.env });
      expectOneErrorLine(run, 64, mentions);
    });

    it('rain --help exits 0 and explains every exit code', async () => {
      const run = await rain(['--help'], { env: scratch.env });
      expectExit(run, 0);
      for (const code of [0, 1, 2, 64, 65, 74]) expect(run.stdout).toMatch(new RegExp(`^\\s+${code}\\s+\\S`, 'm'));
      const sub = await rain(['get', '--help'], { env: scratch.env });
      expectExit(sub, 0);
      for (const code of [0, 1, 2, 64, 65, 74]) expect(sub.stdout).toMatch(new RegExp(`^\\s+${code}\\s+\\S`, 'm'));
    });
  });

  it('after all of the above the pool verifies clean and every file reads back byte-identical', async () => {
    const [verify] = await Promise.all([
      pool.run(['verify']),
      ...Object.entries(files).map(([name, bytes]) => expectReadsBack(pool, name, bytes, outDir)),
    ]);
    expectExit(verify, 0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('get when more than m stores are gone', () => {
  let scratch: Scratch;

  beforeEach(async () => {
    scratch = await makeScratch('rain-bad-lost-');
  });

  afterEach(async () => {
    await scratch.cleanup();
  });

  /** Which stores hold a block of data set `d` (from the block file names `<d>.<b>.<seq>.blk`). */
  async function storesOfDataset(stores: readonly string[], d: number): Promise<number[]> {
    const holders: number[] = [];
    for (let i = 0; i < stores.length; i++) {
      if ((await listBlockFiles(stores[i])).some((f) => path.basename(f).startsWith(`${d}.`))) holders.push(i);
    }
    return holders;
  }

  async function expectLostGet(pool: TestPool, name: string): Promise<void> {
    const destDir = await scratch.dir('dest');
    const dest = path.join(destDir, 'restored.bin');
    const run = await pool.run(['get', name, '-o', dest]);
    expectOneErrorLine(run, 2, /data set|lost|fewer than k|good blocks/);
    // No file, no partial or temporary file at the destination or next to it.
    expect(await fs.readdir(destDir)).toEqual([]);
    const byDir = await pool.run(['get', name, '-o', destDir]);
    expectOneErrorLine(byDir, 2, /data set|lost|fewer than k|good blocks/);
    expect(await fs.readdir(destDir)).toEqual([]);
  }

  it('2+1 over 5 stores, the two stores of one data set removed -> exit 2, and nothing at DEST', async () => {
    const pool = await makePool(scratch, 2, 1, 5, ['--block-size', '4K']);
    const src = path.join(scratch.root, 'f.bin');
    await fs.writeFile(src, seededBytes(64 * 1024, 21));
    expectExit(await pool.run(['put', src]), 0);
    const holders = (await storesOfDataset(pool.stores, 0)).filter((i) => i !== 0);
    expect(holders.length).toBeGreaterThanOrEqual(2);
    for (const i of holders.slice(0, 2)) await fs.rm(pool.stores[i], { recursive: true });
    await expectLostGet(pool, 'f.bin');
  });

  it('2+1 over 3 stores, two stores removed -> exit 2 (data lost), and nothing at DEST', async () => {
    const pool = await makePool(scratch, 2, 1, 3, ['--block-size', '4K']);
    const src = path.join(scratch.root, 'f.bin');
    await fs.writeFile(src, seededBytes(64 * 1024, 22));
    expectExit(await pool.run(['put', src]), 0);
    await fs.rm(pool.stores[1], { recursive: true });
    await fs.rm(pool.stores[2], { recursive: true });
    await expectLostGet(pool, 'f.bin');
  });
});

// ---------------------------------------------------------------------------------------------

describe('put into a full disk', () => {
  let scratch: Scratch;

  beforeEach(async () => {
    scratch = await makeScratch('rain-bad-full-');
  });

  afterEach(async () => {
    await unmountAll();
    await scratch.cleanup();
  });

  /** A 2+1 pool over three directories, the last `full` of which are 1 MiB tmpfs mounts. */
  async function poolWithSmallStores(full: number): Promise<TestPool | undefined> {
    const dirs = await Promise.all([0, 1, 2].map((i) => scratch.dir(`store${i}`)));
    for (const dir of dirs.slice(3 - full)) {
      const mount = await mountTmpfs(dir, 'size=1m');
      if (!mount.ok) {
        skipBecause('put into a full disk', mount);
        return undefined;
      }
    }
    return makePool(scratch, 2, 1, 3, ['--block-size', '64K']);
  }

  async function putSmallFiles(pool: TestPool): Promise<Record<string, Buffer>> {
    const small: Record<string, Buffer> = { 'one.bin': seededBytes(200 * 1024, 31), 'two.bin': seededBytes(50 * 1024, 32) };
    for (const [name, bytes] of Object.entries(small)) {
      const src = path.join(scratch.root, name);
      await fs.writeFile(src, bytes);
      expectExit(await pool.run(['put', src]), 0);
    }
    return small;
  }

  it('one store fills up: the put is degraded (exit 1, a warning), everything reads back, nothing is lost', async () => {
    const pool = await poolWithSmallStores(1);
    if (!pool) return;
    const small = await putSmallFiles(pool);
    const big = seededBytes(3 * 1024 * 1024, 33); // 1.5 MiB per store: more than 1 MiB holds
    const src = path.join(scratch.root, 'big.bin');
    await fs.writeFile(src, big);
    const put = await pool.run(['put', src]);
    expectExit(put, 1);
    const lines = stderrLines(put);
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const line of lines) expect(line).toMatch(/^rain: /);
    expect(put.stderr).toMatch(/big\.bin: \d+ blocks not written/);
    // status and ls tell the truth afterwards: the full store and the file that lacks its blocks.
    await expectStatusNamesFullStore(pool, 2);
    const ls = JSON.parse((await pool.run(['ls', '--json'])).stdout) as { files: { name: string; health: string }[] };
    expect(Object.fromEntries(ls.files.map((f) => [f.name, f.health]))).toEqual({ 'big.bin': 'degraded', 'one.bin': 'ok', 'two.bin': 'ok' });

    expect(await listedNames(pool, 1)).toEqual(['big.bin', 'one.bin', 'two.bin']);
    const [verify] = await Promise.all([
      pool.run(['verify', '--json']),
      expectReadsBack(pool, 'big.bin', big, scratch.root, 1),
      ...Object.entries(small).map(([name, bytes]) => expectReadsBack(pool, name, bytes, scratch.root, 0)),
    ]);
    expectExit(verify, 1);
    const states = Object.fromEntries((JSON.parse(verify.stdout) as { files: { name: string; state: string }[] }).files.map((f) => [f.name, f.state]));
    expect(states).toEqual({ 'big.bin': 'degraded', 'one.bin': 'healthy', 'two.bin': 'healthy' });

    // Room made (the big file removed) and a check that leaves the pool healthy: the note is gone.
    expectExit(await pool.run(['rm', 'big.bin']), 0);
    expect([0, 1]).toContain((await pool.run(['check'])).code);
    const status = await pool.run(['status', '--json']);
    expectExit(status, 0);
    expect((JSON.parse(status.stdout) as { stores: { writeFault?: unknown }[] }).stores.every((s) => s.writeFault === undefined)).toBe(true);
  });

  it('two of three stores fill up: the put fails (74, one line), leaves nothing behind, and the files stored before are intact', async () => {
    const pool = await poolWithSmallStores(2);
    if (!pool) return;
    const small = await putSmallFiles(pool);
    const filesBefore = await allFiles(pool.stores);
    const src = path.join(scratch.root, 'big.bin');
    await fs.writeFile(src, seededBytes(3 * 1024 * 1024, 34));
    const put = await pool.run(['put', src]);
    expectOneErrorLine(put, 74, /big\.bin.*(ENOSPC|no space)/);
    expect(await allFiles(pool.stores)).toEqual(filesBefore);
    await expectStatusNamesFullStore(pool, 2);
    expect(await listedNames(pool)).toEqual(['one.bin', 'two.bin']);
    const [verify] = await Promise.all([
      pool.run(['verify']),
      ...Object.entries(small).map(([name, bytes]) => expectReadsBack(pool, name, bytes, scratch.root, 0)),
    ]);
    expectExit(verify, 0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('damaged block files', () => {
  let scratch: Scratch;

  beforeEach(async () => {
    scratch = await makeScratch('rain-bad-blocks-');
  });

  afterEach(async () => {
    await scratch.cleanup();
  });

  it('one block truncated to half, another overwritten with garbage: get exact bytes (exit 1 + notice), verify names them (1), rebuild fixes them, verify 0', async () => {
    const pool = await makePool(scratch, 2, 1, 3, ['--block-size', '64K']);
    const content = seededBytes(300 * 1024 + 5, 41); // 3 data sets
    const src = path.join(scratch.root, 'f.bin');
    await fs.writeFile(src, content);
    expectExit(await pool.run(['put', src]), 0);

    // A data block (index < k, so get must notice) of data set 0 and one of data set 1.
    const blocks: { file: string; store: number; d: number; b: number }[] = [];
    for (let store = 0; store < pool.stores.length; store++) {
      for (const file of await listBlockFiles(pool.stores[store])) {
        const [d, b] = path.basename(file).split('.').map(Number);
        blocks.push({ file, store, d, b });
      }
    }
    const truncated = blocks.find((x) => x.d === 0 && x.b < 2);
    const garbled = blocks.find((x) => x.d === 1 && x.b < 2);
    if (!truncated || !garbled) throw new Error(`no data blocks of data sets 0 and 1 among ${blocks.map((x) => x.file).join(', ')}`);
    const originals = await Promise.all([fs.readFile(truncated.file), fs.readFile(garbled.file)]);
    await fs.truncate(truncated.file, Math.floor(originals[0].length / 2));
    await fs.writeFile(garbled.file, seededBytes(originals[1].length, 42));

    const get = await expectReadsBack(pool, 'f.bin', content, scratch.root, 1);
    expectOneErrorLine(get, 1, /f\.bin.*reconstructed 2 data sets/);

    const verify = await pool.run(['verify', '--json']);
    expectExit(verify, 1);
    const report = JSON.parse(verify.stdout) as { files: { name: string; state: string; blocks: Record<string, number>; details: string[] }[] };
    expect(report.files).toHaveLength(1);
    expect(report.files[0]).toMatchObject({ name: 'f.bin', state: 'degraded', blocks: { corrupt: 2, missing: 0, stale: 0 } });
    expect(report.files[0].details).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`^data set 0 block ${truncated.b} on store ${truncated.store}: corrupt`)),
      expect.stringMatching(new RegExp(`^data set 1 block ${garbled.b} on store ${garbled.store}: corrupt`)),
    ]));
    const human = await pool.run(['verify']);
    expectExit(human, 1);
    expect(human.stdout).toMatch(new RegExp(`f\\.bin: data set 0 block ${truncated.b} on store ${truncated.store}: corrupt`));

    const rebuild = await pool.run(['rebuild']);
    expectExit(rebuild, 1);
    const after = await pool.run(['verify']);
    expectExit(after, 0);
    // The rewritten blocks are the very blocks that were damaged, byte for byte.
    expect(sha256(await fs.readFile(truncated.file))).toBe(sha256(originals[0]));
    expect(sha256(await fs.readFile(garbled.file))).toBe(sha256(originals[1]));
    const clean = await expectReadsBack(pool, 'f.bin', content, scratch.root, 0);
    expect(stderrLines(clean)).toEqual([]);
  });
});
