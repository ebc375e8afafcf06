/**
 * Catalog segments (docs/FORMAT.md §4.1) through the real CLI on real directories: a put of many
 * files commits them in one segment per bucket and store; a damaged line costs one copy, which
 * verify reports and check rewrites; a delete stays a delete through the check's merging and
 * tombstone collection; readers racing a merge see every file; a put killed at any instant
 * leaves every file at its old or its new content.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { filesUnder } from '../helpers/cli-assertions.js';
import { makePool, makeScratch, RAIN_BIN, seededBytes, type Scratch, type TestPool } from '../helpers/rain-cli.js';
import { mulberry32, seedFromEnv } from '../helpers/seeded-random.js';

let scratch: Scratch;
let pool: TestPool;
let src: string;

beforeEach(async () => {
  scratch = await makeScratch('rain-segments-');
  pool = await makePool(scratch, 2, 1);
  src = await scratch.dir('src');
});
afterEach(async () => scratch.cleanup());

/** Writes `count` small files under src/ (content depends on `round`), returns name -> bytes. */
async function writeTree(count: number, round: number): Promise<Map<string, Buffer>> {
  const contents = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const dir = path.join(src, `d${i % 7}`);
    await fs.mkdir(dir, { recursive: true });
    const bytes = seededBytes(20 + ((i * 37 + round * 11) % 400), i * 1000 + round + 1);
    await fs.writeFile(path.join(dir, `f${i}`), bytes);
    contents.set(`src/d${i % 7}/f${i}`, bytes);
  }
  return contents;
}

async function catalogFiles(store: string): Promise<{ plain: string[]; segments: string[] }> {
  const plain: string[] = [];
  const segments: string[] = [];
  for (const bucket of await fs.readdir(path.join(store, 'catalog'))) {
    for (const file of await fs.readdir(path.join(store, 'catalog', bucket))) {
      (file.endsWith('.seg') ? segments : plain).push(path.join(store, 'catalog', bucket, file));
    }
  }
  return { plain, segments };
}

function expectVerifyClean(run: { code: number | null; stdout: string; stderr: string }): void {
  expect(run.stdout + run.stderr).not.toMatch(/damaged|catalog record on/);
  expect(run.code).toBe(0);
}

async function listed(): Promise<string[]> {
  const run = await pool.run(['ls', '--json']);
  expect(run.code).toBe(0);
  return (JSON.parse(run.stdout) as { files: { name: string }[] }).files.map((f) => f.name).sort();
}

/** Gets the whole pool into a fresh directory and returns name -> bytes. */
async function everything(warning?: RegExp): Promise<Map<string, Buffer>> {
  const dest = path.join(scratch.root, `out-${Math.random().toString(36).slice(2)}`);
  const run = await pool.run(['get', '-r', '.', '-o', dest]);
  if (warning) expect(run.stderr).toMatch(warning);
  else expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const found = await filesUnder(dest);
  await fs.rm(dest, { recursive: true, force: true });
  return found;
}

describe('catalog segments', () => {
  it('a put -r of 600 files writes at most one catalog file per bucket and store; a damaged line is reported, still read from other copies, and rewritten by check', async () => {
    const contents = await writeTree(600, 0);
    expect((await pool.run(['put', '-r', src])).code).toBe(0);
    for (const store of pool.stores) {
      const { plain, segments } = await catalogFiles(store);
      expect(plain.length + segments.length).toBeLessThanOrEqual(256);
      expect(segments.length).toBeGreaterThan(100);
    }
    // One bit of one record line on one store: that copy is damaged, the rest of the segment reads.
    const [segment] = (await catalogFiles(pool.stores[0])).segments;
    const text = await fs.readFile(segment, 'utf8');
    await fs.writeFile(segment, text.replace('"deleted":false', '"deleted":fals3'));
    const verify = await pool.run(['verify']);
    expect(verify.code).toBe(1);
    expect(verify.stdout + verify.stderr).toMatch(/damaged catalog files/);
    // get -r cannot tell whose record the line held, so it says a file may be missing; none is.
    expect(await everything(/1 catalog files could not be read .*\.seg \(1 damaged lines\)/)).toEqual(contents);
    const check = await pool.run(['check']);
    expect(check.code).toBeLessThanOrEqual(1);
    expect(check.stdout).toMatch(/catalog record copies written/);
    const again = await pool.run(['verify']);
    expect(again.stdout + again.stderr).not.toMatch(/damaged/);
    expect(again.code).toBe(0);
    expect(await everything()).toEqual(contents);
  }, 120_000);

  it('after a check every bucket is one identical segment per store; a later check still repairs a flipped copy, refills a removed one and keeps a delete', async () => {
    const contents = await writeTree(300, 0);
    expect((await pool.run(['put', '-r', src])).code).toBe(0);
    expect((await pool.run(['check'])).code).toBeLessThanOrEqual(1);
    const bucketsOf = async (store: string) => (await catalogFiles(store)).segments.map((file) => path.relative(path.join(store, 'catalog'), file)).sort();
    const settled = await bucketsOf(pool.stores[0]);
    expect(settled.length).toBeGreaterThan(100);
    expect((await catalogFiles(pool.stores[0])).plain).toEqual([]);
    for (const store of pool.stores.slice(1)) expect(await bucketsOf(store)).toEqual(settled);
    // Three buckets unsettled three ways: a flipped line (the file keeps its name), a removed copy, a delete.
    const [flipped, removed] = settled;
    const flippedFile = path.join(pool.stores[1], 'catalog', flipped);
    const text = await fs.readFile(flippedFile, 'utf8');
    await fs.writeFile(flippedFile, text.replace('"deleted":false', '"deleted":fals3'));
    await fs.rm(path.join(pool.stores[2], 'catalog', removed));
    const gone = [...contents.keys()][5];
    expect((await pool.run(['rm', gone])).code).toBe(0);
    contents.delete(gone);
    // verify counts copies: a settled bucket is read once, an unsettled one copy by copy.
    const before = await pool.run(['verify']);
    expect(before.code).toBe(1);
    expect(before.stdout + before.stderr).toMatch(/damaged catalog files/);
    expect(before.stdout + before.stderr).toMatch(/catalog record on 2 of 3 reachable stores/);
    const check = await pool.run(['check']);
    expect(check.code).toBeLessThanOrEqual(1);
    expect(check.stdout).toMatch(/catalog record copies written/);
    const verify = await pool.run(['verify']);
    expect(verify.stdout + verify.stderr).not.toMatch(/damaged|catalog record on/);
    expect(verify.code).toBe(0);
    expect(await everything()).toEqual(contents);
    // The next check leaves the stores' catalogs identical again.
    expect((await pool.run(['check'])).code).toBe(0);
    const again = await bucketsOf(pool.stores[0]);
    for (const store of pool.stores.slice(1)) expect(await bucketsOf(store)).toEqual(again);
  }, 120_000);

  it('before any check, buckets of several segments are read once when every store holds the same ones; a flipped or missing copy is still found', async () => {
    // Two put -r runs: most buckets hold two segments on every store.
    const contents = await writeTree(300, 0);
    expect((await pool.run(['put', '-r', src, '--as', 'one'])).code).toBe(0);
    expect((await pool.run(['put', '-r', src, '--as', 'two'])).code).toBe(0);
    const segmentsOf = async (store: string) => (await catalogFiles(store)).segments.map((file) => path.relative(store, file)).sort();
    const held = await segmentsOf(pool.stores[0]);
    const buckets = new Map<string, string[]>();
    for (const file of held) buckets.set(path.dirname(file), [...(buckets.get(path.dirname(file)) ?? []), file]);
    const twoSegments = [...buckets.values()].filter((files) => files.length === 2);
    expect(twoSegments.length).toBeGreaterThan(50);
    expectVerifyClean(await pool.run(['verify']));
    // One bucket's second segment flipped on store 1, another's first removed from store 2.
    const [flipped] = twoSegments[0].slice(1);
    const [removed] = twoSegments[1];
    const text = await fs.readFile(path.join(pool.stores[1], flipped), 'utf8');
    await fs.writeFile(path.join(pool.stores[1], flipped), text.replace('"deleted":false', '"deleted":fals3'));
    await fs.rm(path.join(pool.stores[2], removed));
    const before = await pool.run(['verify']);
    expect(before.code).toBe(1);
    expect(before.stdout + before.stderr).toMatch(/damaged catalog files/);
    expect(before.stdout + before.stderr).toMatch(/catalog record on 2 of 3 reachable stores/);
    expect((await pool.run(['check'])).code).toBeLessThanOrEqual(1);
    expectVerifyClean(await pool.run(['verify']));
    // And before any check again (a third put -r): an emptied store gets the segments copied as
    // they are; the next check merges every store's alike.
    expect((await pool.run(['put', '-r', src, '--as', 'three'])).code).toBe(0);
    const unmerged = await segmentsOf(pool.stores[1]);
    expect(new Set(unmerged.map((file) => path.dirname(file))).size).toBeLessThan(unmerged.length);
    for (const entry of await fs.readdir(pool.stores[0])) await fs.rm(path.join(pool.stores[0], entry), { recursive: true });
    const rebuild = await pool.run(['rebuild']);
    expect(rebuild.code).toBe(1);
    expect(Number(/(\d+) catalog record copies written/.exec(rebuild.stdout)?.[1])).toBeGreaterThanOrEqual(600);
    expect(await segmentsOf(pool.stores[0])).toEqual(unmerged);
    expectVerifyClean(await pool.run(['verify']));
    expect((await pool.run(['check'])).code).toBe(0);
    const merged = await segmentsOf(pool.stores[1]);
    expect(new Set(merged.map((file) => path.dirname(file))).size).toBe(merged.length);
    for (const store of [pool.stores[0], pool.stores[2]]) expect(await segmentsOf(store)).toEqual(merged);
    expectVerifyClean(await pool.run(['verify']));
    const expected = new Map<string, Buffer>();
    for (const [name, bytes] of contents) for (const as of ['one', 'two', 'three']) expected.set(name.replace(/^src\//, `${as}/`), bytes);
    expect(await everything()).toEqual(expected);
  }, 120_000);

  it('rebuild of an emptied store gives it every settled segment byte for byte; a bucket damaged on a source store still gets the full upkeep', async () => {
    const contents = await writeTree(300, 0);
    expect((await pool.run(['put', '-r', src])).code).toBe(0);
    expect((await pool.run(['check'])).code).toBeLessThanOrEqual(1);
    const bytesOf = async (store: string) => {
      const held = new Map<string, Buffer>();
      for (const file of (await catalogFiles(store)).segments) held.set(path.relative(store, file), await fs.readFile(file));
      return held;
    };
    const settled = await bytesOf(pool.stores[0]);
    // One bucket's copy on store 1 is damaged: that bucket is not the same everywhere, so it is
    // merged and written the long way; every other bucket of the emptied store 2 is copied.
    const [damaged] = [...settled.keys()].sort();
    const text = await fs.readFile(path.join(pool.stores[1], damaged), 'utf8');
    await fs.writeFile(path.join(pool.stores[1], damaged), text.replace('"deleted":false', '"deleted":fals3'));
    for (const entry of await fs.readdir(pool.stores[2])) await fs.rm(path.join(pool.stores[2], entry), { recursive: true });
    const rebuild = await pool.run(['rebuild']);
    expect(rebuild.code).toBe(1);
    const copied = /(\d+) catalog record copies written/.exec(rebuild.stdout);
    expect(Number(copied?.[1])).toBeGreaterThanOrEqual(300);
    expect(await bytesOf(pool.stores[2])).toEqual(settled);
    expect((await bytesOf(pool.stores[1])).get(damaged)).toEqual(settled.get(damaged));
    expectVerifyClean(await pool.run(['verify']));
    expect(await everything()).toEqual(contents);
  }, 120_000);

  it('a file deleted while its record is in a segment stays deleted through merging and tombstone collection; a replaced one keeps its new content', async () => {
    const contents = await writeTree(300, 0);
    expect((await pool.run(['put', '-r', src])).code).toBe(0);
    expect((await pool.run(['put', '-r', src])).code).toBe(0); // a second segment per bucket: something to merge
    expect((await pool.run(['rm', 'src/d3/f3'])).code).toBe(0);
    const replacement = seededBytes(999, 77);
    await fs.writeFile(path.join(src, 'd4', 'f4'), replacement);
    expect((await pool.run(['put', path.join(src, 'd4', 'f4'), '--as', 'src/d4/f4'])).code).toBe(0);
    contents.delete('src/d3/f3');
    contents.set('src/d4/f4', replacement);
    for (let i = 0; i < 3; i++) expect((await pool.run(['check'])).code).toBeLessThanOrEqual(1);
    expect(await listed()).toEqual([...contents.keys()].sort());
    expect(await everything()).toEqual(contents);
    for (const store of pool.stores) {
      const { plain, segments } = await catalogFiles(store);
      const held = (await Promise.all([...plain, ...segments].map((f) => fs.readFile(f, 'utf8')))).join('');
      // The tombstone was collected, and no older version of the name was left to come back.
      expect(held).not.toContain('"name":"src/d3/f3"');
      // One record of the replaced name: its new version.
      expect(held.split('"name":"src/d4/f4"').length - 1).toBe(1);
      // Merged: one segment per bucket at most.
      const buckets = segments.map((s) => path.basename(path.dirname(s)));
      expect(new Set(buckets).size).toBe(buckets.length);
    }
  }, 120_000);

  it('listings that race a check merging segments see every file every time', async () => {
    await writeTree(400, 0);
    for (let round = 0; round < 3; round++) {
      await writeTree(400, round);
      expect((await pool.run(['put', '-r', src])).code).toBe(0);
    }
    const names = await listed();
    expect(names).toHaveLength(400);
    const check = pool.run(['check']);
    let listings = 0;
    let done = false;
    void check.then(() => { done = true; });
    while (!done || listings < 3) {
      expect(await listed()).toEqual(names);
      listings++;
    }
    expect((await check).code).toBeLessThanOrEqual(1);
    expect(await listed()).toEqual(names);
  }, 120_000);

  it('a put -r killed at a random instant leaves every file at its old or its new content, and check settles it', async () => {
    const seed = seedFromEnv('RAIN_SEGMENT_SEED');
    const random = mulberry32(seed);
    let committed = await writeTree(300, 0);
    expect((await pool.run(['put', '-r', src])).code).toBe(0);
    for (let round = 1; round <= 4; round++) {
      const next = await writeTree(300, round);
      const child = spawn(process.execPath, [RAIN_BIN, 'put', '-r', src, '-p', pool.stores[0]], { env: { ...process.env, ...scratch.env }, stdio: 'ignore' });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.floor(random() * 1200)));
      child.kill('SIGKILL');
      await exited;
      expect((await pool.run(['check'])).code).toBeLessThanOrEqual(1);
      const got = await everything();
      expect([...got.keys()].sort()).toEqual([...committed.keys()].sort());
      for (const [name, bytes] of got) {
        const either = bytes.equals(committed.get(name) as Buffer) || bytes.equals(next.get(name) as Buffer);
        if (!either) throw new Error(`RAIN_SEGMENT_SEED=${seed} round ${round}: ${name} is neither its old nor its new content`);
      }
      committed = got;
      expect((await pool.run(['verify'])).code).toBe(0);
    }
  }, 300_000);
});
