import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listBlockFiles, makePool, makeScratch, RAIN_BIN, runShell, seededBytes, type Scratch, type TestPool } from '../helpers/rain-cli.js';
import { hasStrace } from '../helpers/strace.js';

interface SyncDoc {
  added: string[]; updated: string[]; unchanged: number; deleted: string[]; restamped: number;
  bytesRead: number; bytesWritten: number; datasetsRewritten: number; datasetsKept: number;
}
interface Change { mark: string; name: string; kind: string; reasons: string[] }
interface DiffDoc { added: number; updated: number; deleted: number; unchanged: number; changes: Change[] }

/** Every file of every store, path -> content hash: what "nothing was written" is checked against. */
async function storeSnapshot(stores: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const store of stores) {
    for (const entry of await fs.readdir(store, { recursive: true, withFileTypes: true })) {
      const full = path.join(entry.parentPath, entry.name);
      out.set(full, entry.isFile() ? createHash('sha256').update(await fs.readFile(full)).digest('hex') : entry.isDirectory() ? 'dir' : 'other');
    }
  }
  return out;
}


/**
 * Bytes every process and thread read from `file`, from the per-thread logs of
 * `strace -ff -y -o PREFIX` (-y names each descriptor's file; -ff keeps every call on one line).
 */
async function straceBytesRead(prefix: string, file: string): Promise<number> {
  const dir = path.dirname(prefix);
  let total = 0;
  for (const name of (await fs.readdir(dir)).filter((n) => n.startsWith(`${path.basename(prefix)}.`))) {
    for (const line of (await fs.readFile(path.join(dir, name), 'utf8')).split('\n')) {
      const call = /^(?:read|pread64|readv|preadv2?)\(\d+<([^>]*)>.*\)\s+=\s+(\d+)/.exec(line);
      if (call && call[1] === file) total += Number(call[2]);
    }
  }
  return total;
}

/** Block files by path: their data set and sequence (`<d>.<b>.<sequence>.blk`). */
function blocksOf(files: readonly string[]): Map<string, { dataset: number; sequence: string }> {
  return new Map(files.map((f) => {
    const [d, , sequence] = path.basename(f).split('.');
    return [f, { dataset: Number(d), sequence }];
  }));
}

const STARTED_S = Math.floor(Date.now() / 1000);

/** Sets a path's times to `agoSeconds` before the test started (old enough that its stamp is not racy). */
async function age(file: string, agoSeconds: number): Promise<void> {
  const at = STARTED_S - agoSeconds;
  await fs.utimes(file, at, at);
}

describe('sync costs what changed; sync --dry-run and diff list it first', () => {
  let scratch: Scratch;
  let pool: TestPool;
  let tree: string;
  const sizes = new Map<string, number>();

  beforeAll(async () => {
    scratch = await makeScratch();
    pool = await makePool(scratch, 2, 1, 3, ['--block-size', '4K']);
    tree = await scratch.dir('tree');
    // 30 files in two directories: small ones go into packs, larger ones have data sets of their own.
    for (let i = 0; i < 30; i++) {
      const rel = `${i % 2 === 0 ? 'a' : 'b'}/f${String(i).padStart(2, '0')}.bin`;
      const size = i % 3 === 0 ? 20_000 + i : 700 + i;
      await fs.mkdir(path.join(tree, path.dirname(rel)), { recursive: true });
      await fs.writeFile(path.join(tree, rel), seededBytes(size, i + 1));
      await age(path.join(tree, rel), 3600);
      sizes.set(`tree/${rel}`, size);
    }
    for (const dir of ['a', 'b', '.']) await age(path.join(tree, dir), 3600);
  });
  afterAll(async () => scratch.cleanup());

  async function json<T>(args: string[], expectedCode: number): Promise<T> {
    const run = await pool.run([...args, '--json']);
    if (run.code !== expectedCode) throw new Error(`rain ${args.join(' ')}: exit ${run.code}, expected ${expectedCode}: ${run.stderr}`);
    return JSON.parse(run.stdout) as T;
  }

  it('lists exactly what changed without writing, then reads only the changed files', async () => {
    const first = await json<SyncDoc>(['sync', tree], 0);
    expect(first.added).toHaveLength(30);

    const changed = 'tree/a/f00.bin'; // own data sets: same size, other bytes, another mtime
    const touched = 'tree/b/f01.bin'; // mtime only
    const gone = 'tree/b/f03.bin';
    const added = 'tree/a/new.bin';
    const file = (name: string) => path.join(tree, name.slice('tree/'.length));
    await fs.writeFile(file(changed), seededBytes(sizes.get(changed) ?? 0, 99));
    await age(file(changed), 1800);
    await age(file(touched), 1700);
    await fs.rm(file(gone));
    await fs.writeFile(file(added), 'new file');
    await age(file(added), 1600);
    // Adding and removing changed the directories' mtimes: put them back, so only the four files differ.
    for (const dir of ['a', 'b']) await age(path.join(tree, dir), 3600);

    const before = await storeSnapshot(pool.stores);
    const expected: Change[] = [
      { mark: '~', name: changed, kind: 'file', reasons: ['content', 'mtime'] },
      { mark: '+', name: added, kind: 'file', reasons: ['new'] },
      { mark: '~', name: touched, kind: 'file', reasons: ['mtime'] },
      { mark: '-', name: gone, kind: 'file', reasons: ['gone'] },
    ];
    const dry = await json<DiffDoc>(['sync', tree, '--dry-run', '--delete'], 1);
    expect(dry.changes).toEqual(expected);
    expect(dry).toMatchObject({ added: 1, updated: 2, deleted: 1, unchanged: 27 });
    // diff lists names missing from the tree as deleted always; one line per name, then the reasons.
    const text = await pool.run(['diff', tree]);
    expect(text.code).toBe(1);
    expect(text.stdout.split('\n').filter((l) => /^[+~-] /.test(l)).map((l) => l.replace(/\s+/g, ' ').trim())).toEqual([
      `~ ${changed} content,mtime`, `+ ${added} new`, `~ ${touched} mtime`, `- ${gone} gone`,
    ]);
    expect(await storeSnapshot(pool.stores)).toEqual(before);

    // The sync itself, under strace when there is one: no unchanged file may be opened.
    const strace = hasStrace();
    if (!strace) console.warn('strace is not installed: the open count is not checked, only the bytes read');
    const log = path.join(scratch.root, 'openat.log');
    const command = `${strace ? `strace -f -qq -e trace=openat -o '${log}' ` : ''}'${process.execPath}' '${RAIN_BIN}' sync '${tree}' --delete --json -p '${pool.stores[0]}'`;
    const run = await runShell(command, scratch.env);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as SyncDoc;
    expect(report).toMatchObject({ added: [added], updated: [changed, touched], deleted: [gone], unchanged: 27 });
    // The changed file is compared data set by data set; the touched one is read to find its bytes unchanged.
    expect(report.bytesRead).toBe((sizes.get(changed) ?? 0) + (sizes.get(touched) ?? 0));
    if (strace) {
      const opened = new Set([...(await fs.readFile(log, 'utf8')).matchAll(/openat\([^"]*"([^"]+)"/g)].map((m) => m[1]));
      const unchangedOpened = [...sizes.keys()].filter((name) => ![changed, touched, gone].includes(name)).filter((name) => opened.has(file(name)));
      expect(unchangedOpened).toEqual([]);
      expect(opened.has(file(changed))).toBe(true);
    }

    expect((await pool.run(['diff', tree])).code).toBe(0);
    // --checksum reads every file again (and finds nothing to do).
    const full = await json<SyncDoc>(['sync', tree, '--checksum'], 0);
    expect(full).toMatchObject({ added: [], updated: [] });
    const total = [...sizes].filter(([name]) => name !== gone).reduce((sum, [, size]) => sum + size, 0) + 'new file'.length;
    expect(full.bytesRead).toBe(total);
  });

  it('racy timestamps: a file changed within the granularity of its record\'s write is read by every sync until it is not', async () => {
    const fresh = path.join(tree, 'a', 'fresh.bin');
    await fs.writeFile(fresh, seededBytes(5000, 7));
    // An mtime not older than the record's write time minus 2 s, whatever the machine's speed: a minute ahead.
    const racyMtime = new Date(Date.now() + 60_000);
    await fs.utimes(fresh, racyMtime, racyMtime);
    const first = await json<SyncDoc>(['sync', tree], 0);
    expect(first.added).toEqual(['tree/a/fresh.bin']);
    // Same size and the same mtime after the rewrite (set back with utimes): only reading shows it.
    await fs.writeFile(fresh, seededBytes(5000, 8));
    await fs.utimes(fresh, racyMtime, racyMtime);
    const second = await json<SyncDoc>(['sync', tree], 0);
    expect(second.updated).toEqual(['tree/a/fresh.bin']);
    expect(second.bytesRead).toBe(5000);
    // Nothing changed since and the stamp matches, but it is still racy: read again, nothing written.
    const third = await json<SyncDoc>(['sync', tree], 0);
    expect(third).toMatchObject({ added: [], updated: [], bytesRead: 5000, restamped: 0 });
  });

  describe('a changed file with data sets of its own is read once, by the workers', () => {
    // 4 KiB blocks, k = 2: 8 KiB data sets; this file has 6 (the last one short).
    const DATASET_BYTES = 8192;
    const SIZE = 5 * DATASET_BYTES + 1000;
    let big: string;
    let file: string;
    let original: Buffer;

    beforeAll(async () => {
      big = await scratch.dir('big');
      file = path.join(big, 'disk.img');
      original = seededBytes(SIZE, 41);
      await fs.writeFile(file, original);
      await age(file, 3600);
      await age(big, 3600);
    });

    async function allBlocks(): Promise<string[]> {
      return (await Promise.all(pool.stores.map((s) => listBlockFiles(s)))).flat();
    }

    it('one byte changed: the file\'s bytes are read once in all, one data set is rewritten, the rest keep their blocks', async () => {
      const before = new Set(await allBlocks());
      expect((await json<SyncDoc>(['sync', big], 0)).added).toEqual(['big/disk.img']);
      const first = blocksOf((await allBlocks()).filter((f) => !before.has(f)));
      expect(new Set([...first.values()].map((b) => b.dataset))).toEqual(new Set([0, 1, 2, 3, 4, 5]));
      expect(first.size).toBe(6 * 3);

      const changed = Buffer.from(original);
      changed[2 * DATASET_BYTES + 100] ^= 0xff;
      await fs.writeFile(file, changed);
      await age(file, 1800);
      const strace = hasStrace();
      if (!strace) console.warn('strace is not installed: the bytes read are checked from the report only');
      const prefix = path.join(await scratch.dir('strace-once'), 'trace');
      const command = `${strace ? `strace -ff -qq -y -e trace=read,pread64,readv,preadv,preadv2 -o '${prefix}' ` : ''}'${process.execPath}' '${RAIN_BIN}' sync '${big}' --json -p '${pool.stores[0]}'`;
      const run = await runShell(command, scratch.env);
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as SyncDoc;
      expect(report).toMatchObject({ updated: ['big/disk.img'], bytesRead: SIZE, datasetsRewritten: 1, datasetsKept: 5 });
      if (strace) expect(await straceBytesRead(prefix, file)).toBe(SIZE);

      // Only data set 2 has new blocks (at one new sequence); the others are the first sync's blocks, and its old ones are gone.
      const now = blocksOf((await allBlocks()).filter((f) => !before.has(f)));
      const added = [...now].filter(([f]) => !first.has(f)).map(([, b]) => b);
      expect(added.map((b) => b.dataset)).toEqual([2, 2, 2]);
      expect(new Set(added.map((b) => b.sequence)).size).toBe(1);
      expect([...now].filter(([f]) => first.has(f)).map(([, b]) => b.dataset).sort()).toEqual([0, 0, 0, 1, 1, 1, 3, 3, 3, 4, 4, 4, 5, 5, 5]);
      expect((await pool.run(['get', 'big/disk.img'])).stdoutBytes.equals(changed)).toBe(true);

      // touch: the stamp differs, the bytes do not; the workers read them once and write no block.
      await age(file, 1700);
      const touched = await json<SyncDoc>(['sync', big], 0);
      expect(touched).toMatchObject({ updated: ['big/disk.img'], bytesRead: SIZE, datasetsRewritten: 0, datasetsKept: 6, bytesWritten: 0 });
      expect(new Set(await allBlocks())).toEqual(new Set([...before, ...now.keys()]));
    });

    it('a file that keeps changing while the workers read it is read again, then reported (exit 1) and keeps its version', async () => {
      const kept = await fs.readFile(file);
      const blocksBefore = await allBlocks();
      const sync = pool.run(['sync', big], { env: { RAIN_FAULT: 'worker-encoded:pause=300' } });
      let running = true;
      const churn = (async () => {
        for (let i = 0; running; i++) {
          const bytes = Buffer.from(kept);
          bytes[i % SIZE] ^= 0xff;
          await fs.writeFile(file, bytes);
          await new Promise((r) => setTimeout(r, 150));
        }
      })();
      const run = await sync;
      running = false;
      await churn;
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/big\/disk\.img: .* changed while being read, twice; its previous version is kept/);
      expect((await pool.run(['get', 'big/disk.img'])).stdoutBytes.equals(kept)).toBe(true);
      expect(await allBlocks()).toEqual(blocksBefore);
    });
  });
});
