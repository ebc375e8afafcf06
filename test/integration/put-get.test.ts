import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listBlockFiles, makePool, makeScratch, rain, RAIN_BIN, runShell, seededBytes, type RainRun, type Scratch, type TestPool } from '../helpers/rain-cli.js';

/** Round trips through the real CLI and real worker processes, over real directories. */
describe('put and get', () => {
  let scratch: Scratch;
  let pool: TestPool;
  const blockSizeBytes = 4096;
  const k = 3;

  beforeAll(async () => {
    scratch = await makeScratch();
    pool = await makePool(scratch, k, 2, 5, ['--block-size', '4K']);
  });
  afterAll(async () => scratch.cleanup());

  // Boundaries of the geometry: empty, tiny, one shard alignment, exact data set, one byte over, many data sets.
  const sizes = [0, 1, 15, 16, 17, blockSizeBytes - 1, k * blockSizeBytes, k * blockSizeBytes + 1, 10 * k * blockSizeBytes + 4097];
  // Each size is put on its own (a put of several small files would pack them: docs/FORMAT.md
  // §5.1), so each is coded with its own geometry; one `get -r` then reads them all back.
  it.each(sizes)('a %i-byte file is put on its own, silently', async (size) => {
    const source = path.join(scratch.root, `src-${size}.bin`);
    await fs.writeFile(source, seededBytes(size, size + 7));
    const put = await pool.run(['put', source, '--as', `sizes/${size}.bin`]);
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
  });

  let sizesGot: Promise<{ code: number | null; dir: string }> | undefined;
  const getSizes = async (): Promise<{ code: number | null; dir: string }> => {
    const dir = path.join(scratch.root, 'sizes-out');
    return { code: (await pool.run(['get', '-r', 'sizes', '-o', dir])).code, dir };
  };
  it.each(sizes)('a %i-byte file reads back byte for byte', async (size) => {
    sizesGot ??= getSizes();
    const { code, dir } = await sizesGot;
    expect(code).toBe(0);
    expect((await fs.readFile(path.join(dir, 'sizes', `${size}.bin`))).equals(seededBytes(size, size + 7))).toBe(true);
  });

  it('reads standard input with "-" and writes to stdout through a pipe', async () => {
    const content = seededBytes(50_000, 99);
    const put = await pool.run(['put', '-', '--as', 'piped.bin'], { input: content });
    expect(put.code).toBe(0);
    const get = await pool.run(['get', 'piped.bin']); // stdout is a pipe here, so no -o means stdout
    expect(get.code).toBe(0);
    expect(get.stdoutBytes.equals(content)).toBe(true);
    const dash = await pool.run(['get', 'piped.bin', '-o', '-']);
    expect(dash.stdoutBytes.equals(content)).toBe(true);
  });

  it('stdout through a shell pipe keeps data sets in order, also with stores missing and a slow reader', async () => {
    // 60 data sets of 12 KiB, decoded by five workers at once, must reach the pipe in file order;
    // the workers write the pipe themselves (a FIFO from the shell, not the test's socket pair).
    const own = await makePool(await makeScratch(), k, 2, 5, ['--block-size', '4K']);
    try {
      const content = seededBytes(60 * k * blockSizeBytes - 1234, 61);
      const source = path.join(own.scratch.root, 'ordered.bin');
      await fs.writeFile(source, content);
      expect((await own.run(['put', source, '--as', 'ordered.bin'])).code).toBe(0);
      const out = path.join(own.scratch.root, 'ordered.out');
      // A reader that takes its time: the pipe fills and the writers must wait for room, not spin or drop.
      const shell = (args: string): Promise<RainRun> => runShell(
        `node ${JSON.stringify(RAIN_BIN)} ${args} -p ${JSON.stringify(own.stores[0])} | (sleep 0.5; cat) > ${JSON.stringify(out)}; exit \${PIPESTATUS[0]}`,
        own.scratch.env,
      );
      const healthy = await shell('get ordered.bin');
      expect(healthy.code).toBe(0);
      expect((await fs.readFile(out)).equals(content)).toBe(true);
      await fs.rm(own.stores[1], { recursive: true });
      await fs.rm(own.stores[3], { recursive: true });
      const degraded = await shell('get ordered.bin');
      expect(degraded.code).toBe(1);
      expect(degraded.stderr).toMatch(/reconstructed \d+ data sets from parity/);
      expect((await fs.readFile(out)).equals(content)).toBe(true);
    } finally {
      await own.scratch.cleanup();
    }
  });

  it('a reader that closes the pipe early ends get with exit 74 and one line, without hanging', async () => {
    const content = seededBytes(80 * k * blockSizeBytes, 62);
    expect((await pool.run(['put', '-', '--as', 'closed-early.bin'], { input: content })).code).toBe(0);
    const run = await runShell(
      `node ${JSON.stringify(RAIN_BIN)} get closed-early.bin -p ${JSON.stringify(pool.stores[0])} | head -c 5000 > /dev/null; exit \${PIPESTATUS[0]}`,
      scratch.env,
    );
    expect(run.code).toBe(74);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/standard output was closed before the whole file was written/);
  });

  it('get -o DIR writes DIR/<last segment of the name>', async () => {
    const content = seededBytes(3000, 5);
    const source = path.join(scratch.root, 'leaf.txt');
    await fs.writeFile(source, content);
    expect((await pool.run(['put', source, '--as', 'deep/er/leaf.txt'])).code).toBe(0);
    const outDir = await scratch.dir('outdir');
    expect((await pool.run(['get', 'deep/er/leaf.txt', '-o', outDir])).code).toBe(0);
    expect((await fs.readFile(path.join(outDir, 'leaf.txt'))).equals(content)).toBe(true);
  });

  it('put -r keeps relative paths as names', async () => {
    const tree = await scratch.dir('tree');
    await fs.mkdir(path.join(tree, 'a', 'b'), { recursive: true });
    await fs.writeFile(path.join(tree, 'top.txt'), 'top');
    await fs.writeFile(path.join(tree, 'a', 'mid.txt'), 'mid');
    await fs.writeFile(path.join(tree, 'a', 'b', 'low.bin'), seededBytes(20_000, 3));
    const put = await pool.run(['put', '-r', tree, '--as', 'backup']);
    expect(put.code).toBe(0);
    const ls = await pool.run(['ls', 'backup/', '--json']);
    const names = (JSON.parse(ls.stdout) as { files: { name: string }[] }).files.map((f) => f.name);
    expect(names).toEqual(['backup/a/b/low.bin', 'backup/a/mid.txt', 'backup/top.txt']);
    const low = await pool.run(['get', 'backup/a/b/low.bin']);
    expect(low.stdoutBytes.equals(seededBytes(20_000, 3))).toBe(true);
  });

  it('a second put of a name replaces it and leaves no blocks of the old version', async () => {
    const source = path.join(scratch.root, 'versioned.bin');
    await fs.writeFile(source, seededBytes(40_000, 1));
    expect((await pool.run(['put', source])).code).toBe(0);
    await fs.writeFile(source, seededBytes(25_000, 2));
    const second = await pool.run(['put', source, '--json']);
    expect(second.code).toBe(0);
    expect((JSON.parse(second.stdout) as { files: { replaced: boolean }[] }).files[0].replaced).toBe(true);
    const get = await pool.run(['get', 'versioned.bin']);
    expect(get.stdoutBytes.equals(seededBytes(25_000, 2))).toBe(true);
    const sequences = new Set<string>();
    for (const store of pool.stores) {
      for (const file of await listBlockFiles(store)) {
        const header = await fs.readFile(file);
        if (header.includes(Buffer.from('versioned.bin'))) sequences.add(path.basename(file).split('.')[2]);
      }
    }
    expect(sequences.size).toBe(1);
    const verify = await pool.run(['verify']);
    expect(verify.code).toBe(0);
  });

  it('rm removes the file and its blocks; the name can be put again', async () => {
    const source = path.join(scratch.root, 'gone.bin');
    await fs.writeFile(source, seededBytes(30_000, 11));
    expect((await pool.run(['put', source])).code).toBe(0);
    const before = (await Promise.all(pool.stores.map(listBlockFiles))).flat().length;
    const rm = await pool.run(['rm', 'gone.bin']);
    expect(rm.code).toBe(0);
    const after = (await Promise.all(pool.stores.map(listBlockFiles))).flat().length;
    expect(before - after).toBe(5 * 3); // 30 000 bytes = 3 data sets of 3+2 blocks
    expect((await pool.run(['get', 'gone.bin'])).code).toBe(64);
    const ls = await pool.run(['ls', '--json']);
    expect(ls.stdout).not.toContain('gone.bin');
    expect((await pool.run(['put', source])).code).toBe(0);
    expect((await pool.run(['get', 'gone.bin'])).stdoutBytes.equals(seededBytes(30_000, 11))).toBe(true);
  });
});

describe('reading with stores gone (M8)', () => {
  let scratch: Scratch;
  let pool: TestPool;
  const content = seededBytes(300_000, 42);

  beforeAll(async () => {
    scratch = await makeScratch();
    pool = await makePool(scratch, 4, 2, 6, ['--block-size', '16K']);
    const source = path.join(scratch.root, 'data.bin');
    await fs.writeFile(source, content);
    expect((await pool.run(['put', source])).code).toBe(0);
  });
  afterAll(async () => scratch.cleanup());

  it('every pair of lost stores still gives the exact bytes, says so on stderr, exits 1', async () => {
    for (let a = 0; a < 6; a++) {
      for (let b = a + 1; b < 6; b++) {
        const away = [a, b].map((i) => `${pool.stores[i]}.away`);
        await fs.rename(pool.stores[a], away[0]);
        await fs.rename(pool.stores[b], away[1]);
        try {
          const anchor = pool.stores.find((_, i) => i !== a && i !== b) as string;
          const dest = path.join(scratch.root, `out-${a}-${b}.bin`);
          const get = await rain(['get', 'data.bin', '-o', dest, '-p', anchor], { env: scratch.env });
          expect(get.code).toBe(1);
          expect(get.stderr).toMatch(/reconstructed \d+ data sets/);
          expect((await fs.readFile(dest)).equals(content)).toBe(true);
          await fs.rm(dest);
        } finally {
          await fs.rename(away[0], pool.stores[a]);
          await fs.rename(away[1], pool.stores[b]);
        }
      }
    }
  }, 120_000);

  it('with m+1 stores gone, get fails with exit 2 and leaves no file', async () => {
    const gone = [1, 3, 5];
    for (const i of gone) await fs.rename(pool.stores[i], `${pool.stores[i]}.away`);
    try {
      const outDir = await scratch.dir('lost-out');
      const dest = path.join(outDir, 'data.bin');
      const get = await pool.run(['get', 'data.bin', '-o', dest]);
      expect(get.code).toBe(2);
      expect(get.stderr.trim().split('\n')).toHaveLength(1);
      expect(await fs.readdir(outDir)).toEqual([]);
    } finally {
      for (const i of gone) await fs.rename(`${pool.stores[i]}.away`, pool.stores[i]);
    }
  });
});
