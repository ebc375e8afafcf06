/**
 * Pools found by identity (issue 19): each store's id in rain-store.json decides its slot, so
 * swapped or renamed mount points are recognised without a rebuild and the registry learns the
 * new paths; a store of another pool is still refused; `init --name` never takes a name over;
 * `rain pools` lists, renames and forgets; `init` warns about stores sharing a file system or of
 * very different sizes. Small 2+1 pools, one scenario walked through in order (each CLI run forks
 * a worker per store, so the runs are few).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { rain, makeScratch, seededBytes, type RainRun, type Scratch } from '../helpers/rain-cli.js';
import { expectExit, expectOneErrorLine, sha256, snapshotTree, stderrLines } from '../helpers/cli-assertions.js';
import { mountTmpfs, unmountAll, skipBecause } from './fs-mounts.js';

interface RegistryFile {
  pools: { name: string; poolId: string; storePaths: string[]; stores?: { slot: number; storeId: string; path: string }[] }[];
}

async function registry(scratch: Scratch): Promise<RegistryFile> {
  return JSON.parse(await fs.readFile(path.join(scratch.env.RAIN_CONFIG_DIR, 'pools.json'), 'utf8')) as RegistryFile;
}

function json(run: RainRun): Record<string, unknown> {
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

describe('pools by identity, names and the registry', () => {
  let scratch: Scratch;
  const run = (args: string[]) => rain(args, { env: scratch.env });
  beforeAll(async () => { scratch = await makeScratch('rain-identity-'); });
  afterAll(async () => { await scratch.cleanup(); });

  it('recognises swapped and renamed store directories, refuses another pool\'s store, and keeps names', async () => {
    const dirs = await Promise.all(['a0', 'a1', 'a2'].map((d) => scratch.dir(d)));
    const init = await run(['init', '-k', '2', '-m', '1', '--name', 'docs', ...dirs]);
    expectExit(init, 0);
    // Temp directories share one file system: init says so on stderr, and still succeeds.
    expect(stderrLines(init)).toEqual([expect.stringMatching(/^rain: warning: .*a0, .*a1, .*a2 are on one file system/)]);
    expect(init.stdout).toMatch(/usable capacity about .* \(3 stores x the smallest one's free space x 2\/3\)/);
    const original = seededBytes(300_000, 19);
    const source = path.join(scratch.root, 'report.bin');
    await fs.writeFile(source, original);
    expectExit(await run(['put', source, '-p', 'docs']), 0);

    // Swap a0 <-> a1 through a temporary name, as a reboot that mounts two disks the other way
    // round, and rename a2's mount point, given with -p: each store is recognised by its id.
    const temp = path.join(scratch.root, 'swap-temp');
    await fs.rename(dirs[0], temp);
    await fs.rename(dirs[1], dirs[0]);
    await fs.rename(temp, dirs[1]);
    const renamed = path.join(scratch.root, 'a2-renamed');
    await fs.rename(dirs[2], renamed);
    const out = path.join(scratch.root, 'out.bin');
    const get = await run(['get', 'report.bin', '-o', out, '-p', renamed]);
    expectExit(get, 0);
    expect(sha256(await fs.readFile(out))).toBe(sha256(original));
    const found = (slot: number, now: string, was: string) => expect.stringMatching(new RegExp(`^rain: store ${slot} \\(id [0-9a-f]{8}\\) found at ${now} \\(was ${was}\\); the pool's record is updated$`));
    expect(stderrLines(get).sort()).toEqual([found(0, dirs[1], dirs[0]), found(1, dirs[0], dirs[1]), found(2, renamed, dirs[2])]);
    const recorded = (await registry(scratch)).pools.find((p) => p.name === 'docs');
    expect(recorded?.storePaths).toEqual([dirs[1], dirs[0], renamed]);
    expect(recorded?.stores?.map((s) => [s.slot, s.path])).toEqual([[0, dirs[1]], [1, dirs[0]], [2, renamed]]);

    // status through a copy of store 1 (cp -a): healthy, the store in its place is used and the
    // copy is named; the moves are not announced again (the registry knows them now).
    const copy = path.join(scratch.root, 'a1-copy');
    await fs.cp(dirs[0], copy, { recursive: true });
    const status = await run(['status', '-p', copy, '--json']);
    expectExit(status, 0);
    expect(json(status)).toMatchObject({ health: 'healthy', stores: [{ slot: 0, path: dirs[1], condition: 'online' }, { slot: 1, path: dirs[0], condition: 'online' }, { slot: 2, path: renamed, condition: 'online' }] });
    expect(stderrLines(status)).toEqual([expect.stringMatching(new RegExp(`^rain: ${copy} holds a copy of store 1 \\(id [0-9a-f]{8}\\), which is used at ${dirs[0]}; the copy is not used`))]);
    await fs.rm(copy, { recursive: true });

    // init --name with a name in use: 64, one line naming the pool and the way out; nothing written.
    const bDirs = await Promise.all(['b0', 'b1', 'b2'].map((d) => scratch.dir(d)));
    const taken = await run(['init', '-k', '2', '-m', '1', '--name', 'docs', ...bDirs]);
    expectOneErrorLine(taken, 64, /the name docs is in use by pool [0-9a-f]{8} .*rain pools forget docs/);
    for (const d of bDirs) expect(await fs.readdir(d)).toEqual([]);
    expectExit(await run(['init', '-k', '2', '-m', '1', '--name', 'other', ...bDirs]), 0);

    // `rain pools --json`: both pools, the old one still healthy under its name.
    const list = await run(['pools', '--json']);
    expectExit(list, 0);
    expect(json(list)).toMatchObject({
      ok: true,
      pools: [
        { name: 'docs', health: 'healthy', k: 2, m: 1, stores: [{ slot: 0, path: dirs[1], state: 'online' }, { slot: 1, path: dirs[0] }, { slot: 2, path: renamed }] },
        { name: 'other', health: 'healthy', stores: [{ path: bDirs[0] }, { path: bDirs[1] }, { path: bDirs[2] }] },
      ],
    });

    // A store of another pool where docs' store 2 was: refused (foreign), never taken for slot 2.
    await fs.rename(renamed, path.join(scratch.root, 'a2-aside'));
    await fs.rename(bDirs[0], renamed);
    const foreign = await run(['status', '-p', 'docs', '--json']);
    expectExit(foreign, 1);
    expect(json(foreign)).toMatchObject({ health: 'degraded', stores: [{ condition: 'online' }, { condition: 'online' }, { slot: 2, path: renamed, condition: 'foreign', detail: expect.stringMatching(/belongs to pool/) }] });
    expect(stderrLines(foreign)).toEqual([]);

    // rename, forget; a pool whose stores are all gone is listed, not an error.
    expectExit(await run(['pools', 'rename', 'docs', 'papers']), 0);
    for (const d of bDirs.slice(1)) await fs.rename(d, `${d}-unmounted`);
    const plain = await run(['pools']);
    expectExit(plain, 0);
    expect(plain.stdout).not.toMatch(/[┌│─└]/);
    const rows = plain.stdout.trim().split('\n').map((line) => line.split(/\s+/));
    expect(rows[0]).toEqual(['name', 'pool', 'k+m', 'health', 'slot', 'state', 'path', 'detail']);
    expect(rows.filter((r) => r[0] === 'papers').map((r) => [r[3], r[4], r[5]])).toEqual([['degraded', '0', 'online'], ['degraded', '1', 'online'], ['degraded', '2', 'foreign']]);
    expect(rows.filter((r) => r[0] === 'other').map((r) => r[3])).toEqual(['unreachable', 'unreachable', 'unreachable']);
    // other's store b0 (now at a2-renamed): forgetting the pool must not touch it.
    const before = await snapshotTree(renamed);
    const forget = await run(['pools', 'forget', 'other', '--json']);
    expectExit(forget, 0);
    expect(json(forget)).toMatchObject({ ok: true, forgotten: { name: 'other' } });
    expect((await registry(scratch)).pools.map((p) => p.name)).toEqual(['papers']);
    expect(await snapshotTree(renamed)).toEqual(before);
  });
});

describe('init warns about store sizes', () => {
  let scratch: Scratch;
  beforeAll(async () => { scratch = await makeScratch('rain-identity-sizes-'); });
  afterAll(async () => { await unmountAll(); await scratch.cleanup(); });

  it('warns when the largest store is more than twice the smallest, and exits 0', async () => {
    const dirs = await Promise.all(['small', 'big0', 'big1'].map((d) => scratch.dir(d)));
    const sizes = ['4m', '16m', '16m'];
    for (const [i, dir] of dirs.entries()) {
      const mounted = await mountTmpfs(dir, `size=${sizes[i]}`);
      if (!mounted.ok) {
        skipBecause('init warning for stores of different sizes', mounted);
        return;
      }
    }
    const init = await rain(['init', '-k', '2', '-m', '1', '--block-size', '64K', ...dirs], { env: scratch.env });
    expectExit(init, 0);
    // Each tmpfs is its own file system: only the size warning.
    expect(stderrLines(init)).toEqual([expect.stringMatching(new RegExp(`^rain: warning: store sizes differ more than 2x \\(${dirs[0]}: 4\\.0 MiB, ${dirs[1]}: 16\\.0 MiB\\)`))]);
    // 3 stores x about 4 MiB free x 2/3 = about 8 MiB.
    expect(init.stdout).toMatch(/usable capacity about [78]\.\d MiB of files/);
  });
});
