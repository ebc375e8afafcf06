import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { expectExit, expectOneErrorLine, snapshotTree, stderrLines } from '../helpers/cli-assertions.js';
import { listBlockFiles, makePool, makeScratch, rain, seededBytes, type Scratch, type TestPool } from '../helpers/rain-cli.js';
import { mountTmpfs, skipBecause, unmountAll } from './fs-mounts.js';

/** More small files than one batch of the tree get (256), so a tree crosses a batch boundary. */
const SMALL_FILES = 300;
const LOST_NAME = 'backup/lost-me.bin';

/** The source tree: nested directories, an empty file, a file of several data sets, many small files. */
async function writeSourceTree(root: string): Promise<void> {
  const files: Record<string, Buffer> = {
    'top.txt': Buffer.from('top\n'),
    'empty.bin': Buffer.alloc(0),
    'big/multi.bin': seededBytes(50_000, 1), // 3+2 with 4 KiB blocks: 5 data sets
    'a/b/c/deep.txt': seededBytes(777, 2),
    'ro/inside.txt': seededBytes(100, 3),
    'lost-me.bin': seededBytes(9000, 4),
  };
  for (let i = 0; i < SMALL_FILES; i++) files[`many/f${String(i).padStart(3, '0')}.bin`] = seededBytes(1 + ((i * 37) % 2000), 100 + i);
  for (const [name, bytes] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await fs.writeFile(path.join(root, name), bytes);
  }
}

async function allPaths(root: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(dir: string): Promise<void> {
    for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(dir, entry.name);
      found.push(full);
      if (entry.isDirectory()) await walk(full);
    }
  }
  await walk(root);
  return found;
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(() => true, () => false);
}

interface TreeDocument {
  ok: boolean;
  exitCode: number;
  prefix: string;
  destination: string;
  totals: { files: number; written: number; lost: number; removed: number; sizeBytes: number; reconstructedDatasets: number; badBlocks: number };
  files: { name: string; sizeBytes: number; destination: string; outcome: string; reconstructedDatasets: number; badBlocks: number; error?: string }[];
  workersLost: string[];
}

describe('get -r PREFIX -o DIR', () => {
  let scratch: Scratch;
  let pool: TestPool;
  let source: string;
  let sourceSnapshot: Record<string, string>;
  let outCounter = 0;
  const fileCount = SMALL_FILES + 6;

  /** A fresh destination directory path (not created: get -r makes it). */
  const freshOut = (): string => path.join(scratch.root, `out-${outCounter++}`);

  beforeAll(async () => {
    scratch = await makeScratch('rain-get-tree-');
    pool = await makePool(scratch, 3, 2, 5, ['--block-size', '4K']);
    source = await scratch.dir('src');
    await writeSourceTree(source);
    sourceSnapshot = await snapshotTree(source);
    expectExit(await pool.run(['put', '-r', source, '--as', 'backup', '--quiet']), 0);
  }, 120_000);
  afterAll(async () => scratch.cleanup());
  afterEach(async () => unmountAll());

  it('round-trips a tree byte for byte into DIR/<name>, creating DIR and every directory', async () => {
    const out = freshOut();
    const get = await pool.run(['get', '-r', 'backup', '-o', out]);
    expectExit(get, 0);
    expect(get.stderr).toBe('');
    expect(get.stdout).toMatch(new RegExp(`^wrote ${fileCount} files to ${out}: `));
    // Same directories, same bytes, and nothing else (no .part file left over).
    expect(await snapshotTree(path.join(out, 'backup'))).toEqual(sourceSnapshot);
    expect(await fs.readdir(out)).toEqual(['backup']);
  }, 120_000);

  it('takes the prefix with a trailing slash, and matches whole path segments only', async () => {
    const out = freshOut();
    expectExit(await pool.run(['get', '-r', 'backup/a/', '-o', out]), 0);
    expect(await snapshotTree(out)).toEqual({
      'backup/': 'dir', 'backup/a/': 'dir', 'backup/a/b/': 'dir', 'backup/a/b/c/': 'dir', 'backup/a/b/c/deep.txt': sourceSnapshot['a/b/c/deep.txt'],
    });
    // 'backup/big/multi' is not a file, and 'backup/big/multi.bi' is no whole segment of one.
    const partial = await pool.run(['get', '-r', 'backup/big/multi.bi', '-o', freshOut()]);
    expectOneErrorLine(partial, 64, /no file in the pool under backup\/big\/multi\.bi/);
    // A prefix that is itself a file's name gets that file.
    const exact = freshOut();
    expectExit(await pool.run(['get', '-r', 'backup/big/multi.bin', '-o', exact]), 0);
    expect(await snapshotTree(exact)).toEqual({ 'backup/': 'dir', 'backup/big/': 'dir', 'backup/big/multi.bin': sourceSnapshot['big/multi.bin'] });
  }, 120_000);

  it("'.' gets the whole pool", async () => {
    const out = freshOut();
    const get = await pool.run(['get', '-r', '.', '-o', out, '--json']);
    expectExit(get, 0);
    expect((JSON.parse(get.stdout) as TreeDocument).totals.files).toBe(fileCount);
    expect(await snapshotTree(path.join(out, 'backup'))).toEqual(sourceSnapshot);
  }, 120_000);

  it('a prefix matching nothing, a missing -o, -o - and an empty prefix are usage errors (64) that write nothing', async () => {
    const out = freshOut();
    expectOneErrorLine(await pool.run(['get', '-r', 'nothing/here', '-o', out]), 64, /no file in the pool under nothing\/here \(see 'rain ls'\)/);
    expect(await exists(out)).toBe(false);
    expectOneErrorLine(await pool.run(['get', '-r', 'backup']), 64, /needs -o DIR/);
    expectOneErrorLine(await pool.run(['get', '-r', 'backup', '-o', '-']), 64, /needs -o DIR/);
    expectOneErrorLine(await pool.run(['get', '-r', '', '-o', out]), 64, /prefix is empty/);
    expectOneErrorLine(await pool.run(['get', '-r', 'backup/../x', '-o', out]), 64, /invalid prefix/);
    expect(await exists(out)).toBe(false);
  }, 120_000);

  it('refuses a tree in which one name is both a file and a directory, before writing anything', async () => {
    const one = path.join(scratch.root, 'clash.txt');
    await fs.writeFile(one, 'x');
    expectExit(await pool.run(['put', one, '--as', 'clash/x']), 0);
    expectExit(await pool.run(['put', one, '--as', 'clash/x/y']), 0);
    try {
      const out = freshOut();
      expectOneErrorLine(await pool.run(['get', '-r', 'clash', '-o', out]), 64, /clash\/x is both a file and a directory/);
      expect(await exists(out)).toBe(false);
    } finally {
      expectExit(await pool.run(['rm', 'clash/x', 'clash/x/y']), 0);
    }
  }, 120_000);

  it('with m stores gone: exit 1, one notice, every byte still identical', async () => {
    const away = [1, 3].map((i) => pool.stores[i]);
    for (const store of away) await fs.rename(store, `${store}.away`);
    try {
      const out = freshOut();
      const get = await rain(['get', '-r', 'backup/', '-o', out, '-p', pool.stores[0]], { env: scratch.env });
      expectExit(get, 1);
      expect(stderrLines(get)).toEqual([expect.stringMatching(/^rain: reconstructed \d+ data sets of \d+ files from parity .*run 'rain rebuild'$/)]);
      expect(await snapshotTree(path.join(out, 'backup'))).toEqual(sourceSnapshot);
    } finally {
      for (const store of away) await fs.rename(`${store}.away`, store);
    }
  }, 120_000);

  it('a file with more than m blocks gone: exit 2, that file reported and absent, every other file written, no .part left', async () => {
    const moved = await moveBlocksAway(pool, scratch, LOST_NAME, 3);
    try {
      const out = freshOut();
      const get = await pool.run(['get', '-r', 'backup', '-o', out, '--json']);
      expectExit(get, 2);
      expect(stderrLines(get)).toEqual([expect.stringMatching(/^rain: backup\/lost-me\.bin: data lost, not written: data set 0 has only \d good blocks of the 3 needed$/)]);
      const doc = JSON.parse(get.stdout) as TreeDocument;
      expect(doc).toEqual({
        ok: false, exitCode: 2, prefix: 'backup', destination: out, durationMs: expect.any(Number),
        // directories: backup, a, a/b, a/b/c, big, many, ro (their modes and times are restored too)
        totals: { files: fileCount, written: fileCount - 1, lost: 1, removed: 0, refused: 0, directories: 7, sizeBytes: expect.any(Number), reconstructedDatasets: 0, badBlocks: 0 },
        files: expect.any(Array), workersLost: [],
      });
      expect(doc.files.map((f) => f.name)).toEqual([...doc.files.map((f) => f.name)].sort());
      expect(doc.files.find((f) => f.name === LOST_NAME)).toEqual({
        name: LOST_NAME, sizeBytes: 9000, destination: path.join(out, LOST_NAME), outcome: 'lost',
        reconstructedDatasets: 0, badBlocks: 0, error: expect.stringMatching(/^data set 0 has only/),
      });
      expect(doc.files.find((f) => f.name === 'backup/big/multi.bin')).toEqual({
        name: 'backup/big/multi.bin', sizeBytes: 50_000, destination: path.join(out, 'backup/big/multi.bin'), outcome: 'written',
        reconstructedDatasets: 0, badBlocks: 0,
      });
      const { 'lost-me.bin': lostHash, ...others } = sourceSnapshot;
      expect(lostHash).toBeDefined();
      expect(await snapshotTree(path.join(out, 'backup'))).toEqual(others);
    } finally {
      await moved.restore();
    }
    // Restored: the same file reads again, so the loss above was the blocks, not the pool.
    const again = freshOut();
    expectExit(await pool.run(['get', '-r', LOST_NAME, '-o', again]), 0);
  }, 120_000);

  it('a destination directory that cannot be written: exit 74, one line, no .part file and no partial file', async () => {
    const out = freshOut();
    const readOnly = path.join(out, 'backup', 'ro');
    await fs.mkdir(readOnly, { recursive: true });
    // chmod does not stop root (the tests run as root), a read-only mount does.
    const mount = await mountTmpfs(readOnly, 'ro,size=1m');
    if (!mount.ok) {
      skipBecause('get -r into a read-only directory', mount);
      return;
    }
    const get = await pool.run(['get', '-r', 'backup', '-o', out]);
    expectOneErrorLine(get, 74, /backup\/ro\/\.inside\.txt\.rain-[0-9a-f]+\.part.*read-only/);
    for (const entry of await allPaths(out)) {
      expect(entry).not.toMatch(/\.part$/);
      const stat = await fs.stat(entry);
      // Whatever was written before the failure is whole.
      if (stat.isFile()) expect(await fs.readFile(entry)).toEqual(await fs.readFile(path.join(source, path.relative(path.join(out, 'backup'), entry))));
    }
  }, 120_000);

  it('puts replacing a file during get -r: every file read back is one whole version, never a mix', async () => {
    const versions = Array.from({ length: 4 }, (_, i) => seededBytes(30_000 + i * 1000, 50 + i)); // 3 data sets each
    for (let i = 0; i < versions.length; i++) await fs.writeFile(path.join(scratch.root, `v${i}`), versions[i]);
    expectExit(await pool.run(['put', path.join(scratch.root, 'v0'), '--as', 'race/shared.bin']), 0);
    expectExit(await pool.run(['put', path.join(source, 'top.txt'), '--as', 'race/other.txt']), 0);
    const outs = [freshOut(), freshOut()];
    const readers = outs.map((out) => pool.run(['get', '-r', 'race', '-o', out, '--json']));
    const writers = versions.slice(1).map((_, i) => pool.run(['put', path.join(scratch.root, `v${i + 1}`), '--as', 'race/shared.bin']));
    for (const w of await Promise.all(writers)) expectExit(w, 0);
    for (const [i, r] of (await Promise.all(readers)).entries()) {
      expectExit(r, 0);
      expect((JSON.parse(r.stdout) as TreeDocument).files.map((f) => [f.name, f.outcome, f.error])).toEqual([
        ['race/other.txt', 'written', undefined], ['race/shared.bin', 'written', undefined],
      ]);
      const got = await fs.readFile(path.join(outs[i], 'race/shared.bin'));
      expect(versions.findIndex((v) => v.equals(got))).toBeGreaterThanOrEqual(0);
      expect(await fs.readFile(path.join(outs[i], 'race/other.txt'), 'utf8')).toBe('top\n');
      expect((await allPaths(outs[i])).filter((p) => p.endsWith('.part'))).toEqual([]);
    }
  }, 120_000);

  it('--quiet prints nothing when all is well', async () => {
    const get = await pool.run(['get', '-r', 'backup/a', '-o', freshOut(), '--quiet']);
    expect({ code: get.code, stdout: get.stdout, stderr: get.stderr }).toEqual({ code: 0, stdout: '', stderr: '' });
  }, 120_000);
});

/** Moves the block directory of `name` out of `stores` stores (into the scratch area); restore() puts it back. */
async function moveBlocksAway(pool: TestPool, scratch: Scratch, name: string, stores: number): Promise<{ restore(): Promise<void> }> {
  const marker = Buffer.from(name);
  const moves: { from: string; to: string }[] = [];
  for (const [i, store] of pool.stores.slice(0, stores).entries()) {
    const blockFiles = await listBlockFiles(store);
    let fileDir: string | undefined;
    for (const file of blockFiles) {
      if ((await fs.readFile(file)).includes(marker)) {
        fileDir = path.dirname(file);
        break;
      }
    }
    if (!fileDir) throw new Error(`no block of ${name} in ${store}`);
    const to = path.join(scratch.root, `away-${i}`);
    await fs.rename(fileDir, to);
    moves.push({ from: fileDir, to });
  }
  return {
    async restore() {
      for (const move of moves) await fs.rename(move.to, move.from);
    },
  };
}
