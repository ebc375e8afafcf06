/**
 * Repacking (docs/FORMAT.md §5.1 "Repacking", docs/DECISIONS.md D4) through the real CLI: after
 * most small files are deleted, a check (or `rain compact`) moves the live ones into new packs and
 * the space comes back; a put or rm of a moved name while a compact runs wins; a compact killed at
 * each of its phases, or at a random instant, leaves every file reading its content, and the next
 * check leaves a healthy pool with no pack left over.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { filesUnder } from '../helpers/cli-assertions.js';
import { listBlockFiles, makePool, makeScratch, RAIN_BIN, seededBytes, type Scratch, type TestPool } from '../helpers/rain-cli.js';
import { SeededRandom, seedFromEnv } from '../helpers/seeded-random.js';

const SEED = seedFromEnv('RAIN_REPACK_SEED');
/** Blocks of 16 KiB: a pack holds 32 KiB, so a few hundred small files make several packs. */
const SMALL_PACKS = ['--block-size', '16K'];
const NO_GRACE = { RAIN_PACK_GRACE_MS: '0' };

let scratch: Scratch;
let pool: TestPool;
let src: string;

beforeEach(async () => {
  scratch = await makeScratch('rain-repack-');
  pool = await makePool(scratch, 2, 1, 3, SMALL_PACKS);
  src = await scratch.dir('src');
});
afterEach(async () => scratch.cleanup());

/** `count` files of 1 B .. 2 KB under src/, put with one put -r; returns name -> bytes. */
async function putTree(count: number, seed: number): Promise<Map<string, Buffer>> {
  const contents = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const bytes = seededBytes(1 + ((i * 613 + seed * 7) % 2000), i + seed * 100_000 + 1);
    await fs.writeFile(path.join(src, `f${i}`), bytes);
    contents.set(`src/f${i}`, bytes);
  }
  const put = await pool.run(['put', '-r', src]);
  expect(put.code).toBe(0);
  return contents;
}

async function remove(contents: Map<string, Buffer>, names: readonly string[]): Promise<void> {
  expect((await pool.run(['rm', ...names])).code).toBe(0);
  for (const name of names) contents.delete(name);
}

/** Every file in the pool, read with one get -r (exit 0 required). */
async function everything(): Promise<Map<string, Buffer>> {
  const dest = path.join(scratch.root, `out-${Math.random().toString(36).slice(2)}`);
  const run = await pool.run(['get', '-r', '.', '-o', dest]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const found = await filesUnder(dest);
  await fs.rm(dest, { recursive: true, force: true });
  return found;
}

/** Pack ids (block headers with the empty name) and the bytes of every block file, over all stores. */
async function storedPacks(): Promise<{ packs: Set<string>; bytes: number }> {
  const packs = new Set<string>();
  let bytes = 0;
  for (const store of pool.stores) {
    for (const file of await listBlockFiles(store)) {
      const content = await fs.readFile(file);
      bytes += content.length;
      if (content.readUInt16LE(88) === 0) packs.add(path.basename(path.dirname(file)));
    }
  }
  return { packs, bytes };
}

/**
 * The packs the newest live records name, read from the first store's catalog files (plain
 * records and segment lines; at one sequence the higher pack sequence wins, docs/FORMAT.md §4).
 */
async function referencedPacks(): Promise<Set<string>> {
  type Body = { format?: string; name: string; sequence: string; deleted: boolean; pack?: { fileId: string; sequence: string } };
  const newest = new Map<string, Body>();
  const rank = (b: Body): [bigint, bigint] => [BigInt(b.sequence), BigInt(b.pack?.sequence ?? 0)];
  const dir = path.join(pool.stores[0], 'catalog');
  for (const file of await fs.readdir(dir, { recursive: true })) {
    if (!file.endsWith('.json') && !file.endsWith('.seg')) continue;
    for (const line of (await fs.readFile(path.join(dir, file), 'utf8')).split('\n')) {
      if (line === '') continue;
      const body = (JSON.parse(line) as { body: Body }).body;
      if (body.format !== 'rain-catalog/1') continue;
      const before = newest.get(body.name);
      const [s, p] = rank(body);
      if (!before || s > rank(before)[0] || (s === rank(before)[0] && p > rank(before)[1])) newest.set(body.name, body);
    }
  }
  return new Set([...newest.values()].flatMap((b) => (b.deleted || !b.pack ? [] : [b.pack.fileId])));
}

/** verify exits 0 and finds no block of anything the catalog does not name (a leftover pack is one). */
async function expectHealthyWithoutLeftovers(context = ''): Promise<void> {
  const verify = await pool.run(['verify', '--json']);
  expect(`${context}exit ${verify.code} ${verify.stderr}`).toBe(`${context}exit 0 `);
  expect((JSON.parse(verify.stdout) as { orphanFiles: number }).orphanFiles).toBe(0);
}

describe('repacking packs', () => {
  it('after most files are deleted a check repacks (fewer packs, fewer bytes, every file reads back, verify healthy); a put and an rm racing a compact win', async () => {
    const contents = await putTree(200, 1);
    // Three of every four files go: every pack keeps about a quarter of its bytes live.
    await remove(contents, [...contents.keys()].filter((_, i) => i % 4 !== 0));
    const before = await storedPacks();
    expect(before.packs.size).toBeGreaterThanOrEqual(5);
    const check = await pool.run(['check', '--json']);
    expect(check.code).toBe(0);
    const report = JSON.parse(check.stdout) as { housekeeping: string[]; repack: { packsRepacked: number; bytesReclaimed: number; oldPacksRemoved: number } };
    expect(report.housekeeping.join('\n')).toMatch(/packs repacked \d+, bytes reclaimed \d+/);
    expect(report.repack.packsRepacked).toBe(before.packs.size);
    expect(report.repack.oldPacksRemoved).toBe(before.packs.size);
    const after = await storedPacks();
    expect(after.packs.size).toBeLessThanOrEqual(Math.ceil(before.packs.size / 3));
    // The reported bytes are the blocks' payloads; the block headers of the removed packs come on top.
    expect(report.repack.bytesReclaimed).toBeGreaterThan(0);
    expect(before.bytes - after.bytes).toBeGreaterThanOrEqual(report.repack.bytesReclaimed);
    expect(after.bytes).toBeLessThan(before.bytes / 2);
    expect(await everything()).toEqual(contents);
    expect([...after.packs].sort()).toEqual([...await referencedPacks()].sort());

    // Garbage again, and a compact that stops once its new packs are durable, before it commits
    // the moved records: a put of one moved name and an rm of another meanwhile must win.
    await remove(contents, [...contents.keys()].filter((_, i) => i % 4 !== 0));
    const packsBefore = (await storedPacks()).packs;
    const [rewritten, deleted] = [...contents.keys()];
    const compact = pool.run(['compact', '--json'], { env: { RAIN_FAULT: 'compact-blocks-written:pause=4000' } });
    for (let waited = 0; ; waited += 100) {
      const now = (await storedPacks()).packs;
      if ([...now].some((p) => !packsBefore.has(p))) break;
      if (waited > 20_000) throw new Error('the compact never wrote a new pack');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const fresh = seededBytes(777, 4242);
    await fs.writeFile(path.join(scratch.root, 'fresh'), fresh);
    expect((await pool.run(['put', path.join(scratch.root, 'fresh'), '--as', rewritten])).code).toBe(0);
    contents.set(rewritten, fresh);
    await remove(contents, [deleted]);
    const done = await compact;
    expect(done.code).toBe(0);
    expect((JSON.parse(done.stdout) as { packsRepacked: number }).packsRepacked).toBe(packsBefore.size);
    expect(await everything()).toEqual(contents);
    await expectHealthyWithoutLeftovers();
  }, 180_000);

  it(`a compact killed at each phase, and at seeded random instants (seed ${SEED}), loses nothing; the next check leaves no pack over`, async () => {
    const random = new SeededRandom(SEED);
    const contents = await putTree(240, 3);
    const kills: (string | number)[] = ['compact-announced', 'compact-blocks-written', 'compact-committed', 'compact-old-packs', random.int(1500)];
    for (const [round, kill] of kills.entries()) {
      const context = `seed ${SEED}, round ${round}, kill ${kill}: `;
      // Three in four files of one half (in name order, the order of put -r and of repacks) go:
      // the packs holding that half fall below half live.
      const live = [...contents.keys()].sort();
      const half = round % 2 === 0 ? live.slice(0, Math.ceil(live.length / 2)) : live.slice(Math.floor(live.length / 2));
      await remove(contents, half.filter((_, i) => i % 4 !== 0));
      const killed = typeof kill === 'string'
        ? (await pool.run(['compact'], { env: { RAIN_FAULT: `${kill}:kill` } })).signal ?? 'exited'
        : await runAndKill(['compact', '-p', pool.stores[0]], kill);
      if (typeof kill === 'string') expect(`${context}${killed}`).toBe(`${context}SIGKILL`);
      // Right after the crash, before any repair: every file reads its content.
      expect(await everything()).toEqual(contents);
      const check = await pool.run(['check'], { env: NO_GRACE });
      expect(`${context}check exit ${(check.code ?? 99) <= 1 ? 'ok' : check.code} ${check.stderr}`).toBe(`${context}check exit ok `);
      // No pack left over: the packs on the stores are exactly those the catalog names.
      expect(`${context}${[...(await storedPacks()).packs].sort().join(' ')}`).toBe(`${context}${[...await referencedPacks()].sort().join(' ')}`);
    }
    await expectHealthyWithoutLeftovers();
  }, 240_000);

  it('a sync giving a packed file a new mode while a compact moves it: the old pack stays while announced, the file keeps its bytes and gets its mode', async () => {
    const contents = await putTree(8, 4);
    const gone = [...contents.keys()].slice(2);
    await remove(contents, gone);
    for (const name of gone) await fs.rm(path.join(scratch.root, name));
    const [kept] = [...contents.keys()];
    await fs.chmod(path.join(scratch.root, kept), 0o600);
    const [oldPack] = [...(await referencedPacks())];
    // The sync has read the catalog and announced the pack the file keeps its place in; it waits there.
    const sync = pool.run(['sync', src, '--as', 'src'], { env: { RAIN_FAULT: 'put-announced:pause=3000' } });
    const writers = path.join(pool.stores[0], 'writers');
    for (let waited = 0; ; waited += 50) {
      const intents = await Promise.all((await fs.readdir(writers).catch(() => [])).map((f) => fs.readFile(path.join(writers, f), 'utf8').catch(() => '')));
      if (intents.some((text) => text.includes(oldPack))) break;
      if (waited > 20_000) throw new Error('the sync never announced the pack');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const compact = await pool.run(['compact', '--json']);
    expect(compact.code).toBe(0);
    const moved = JSON.parse(compact.stdout) as { packsRepacked: number; oldPacksRemoved: number };
    expect(moved).toMatchObject({ packsRepacked: 1, oldPacksRemoved: 0 });
    // The sync finds the file moved, plans it again from the moved record, and commits that.
    const synced = await sync;
    expect(`${synced.code} ${synced.stderr}`).toBe('0 ');
    expect(synced.stdout).toMatch(/1 updated/);
    const referenced = await referencedPacks();
    expect(referenced.has(oldPack)).toBe(false);
    expect((await pool.run(['check'], { env: NO_GRACE })).code).toBeLessThanOrEqual(1);
    expect([...(await storedPacks()).packs].sort()).toEqual([...referenced].sort());
    const out = path.join(scratch.root, 'out');
    expect((await pool.run(['get', '-r', 'src', '-o', out])).code).toBe(0);
    expect(await fs.readFile(path.join(out, kept))).toEqual(contents.get(kept));
    expect((await fs.stat(path.join(out, kept))).mode & 0o777).toBe(0o600);
  }, 120_000);
});

/** Runs rain and SIGKILLs it after `afterMs` (it may have finished by then). */
async function runAndKill(args: string[], afterMs: number): Promise<string> {
  const child = spawn(process.execPath, [RAIN_BIN, ...args], { env: { ...process.env, ...scratch.env, NO_COLOR: '1' }, stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), afterMs);
  const outcome = await new Promise<string>((resolve) => child.on('close', (code, signal) => resolve(signal ?? `exit ${code}`)));
  clearTimeout(timer);
  return outcome;
}
