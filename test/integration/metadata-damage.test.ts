/**
 * Damaged or confusing metadata, end to end through the real CLI: a store's manifest turned to
 * garbage, a store directory that belongs to another pool, damaged catalog records, an emptied
 * store, and replacing a lost store. The pool must keep serving reads, report what is wrong with
 * the documented exit code (1 = repairable), repair it with `rebuild`, and never write into a
 * directory that is not its own.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from '@jest/globals';
import { rain, makeScratch, makePool, seededBytes, listBlockFiles, type RainRun, type Scratch, type TestPool } from '../helpers/rain-cli.js';
import { expectExit, expectOneErrorLine, sha256, snapshotTree, stderrLines } from '../helpers/cli-assertions.js';

// ---------------------------------------------------------------------------------------------
// helpers

async function relativeBlockFiles(store: string): Promise<string[]> {
  return (await listBlockFiles(store)).map((f) => path.relative(store, f));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface JsonReport {
  files: { name: string; state: string }[];
  storeProblems: string[];
  metadataProblems: string[];
}

interface JsonStatus {
  poolName: string;
  epoch: number;
  stores: { slot: number; path: string; condition: string }[];
  problems: string[];
}

/** A 2+1 pool of three stores (16 KiB blocks) holding two files put with -r, so names have a directory. */
const FILES: Record<string, Buffer> = {
  'data/a.bin': seededBytes(300 * 1024 + 3, 101), // 10 data sets: every store holds data blocks of it
  'data/sub/b.bin': seededBytes(40 * 1024, 102),
};

async function standardPool(scratch: Scratch, name: string): Promise<TestPool> {
  const pool = await makePool(scratch, 2, 1, 3, ['--block-size', '16K', '--name', name]);
  const src = path.join(scratch.root, 'src', 'data');
  await fs.mkdir(path.join(src, 'sub'), { recursive: true });
  for (const [fileName, bytes] of Object.entries(FILES)) await fs.writeFile(path.join(scratch.root, 'src', fileName), bytes);
  expectExit(await pool.run(['put', src, '-r']), 0);
  return pool;
}

let readBackCounter = 0;
async function expectReadsBack(run: (args: string[]) => Promise<RainRun>, name: string, original: Buffer, outDir: string, code: number): Promise<RainRun> {
  const dest = path.join(outDir, `readback-${readBackCounter++}`);
  const result = await run(['get', name, '-o', dest]);
  expectExit(result, code);
  const got = await fs.readFile(dest);
  expect({ name, size: got.length, sha256: sha256(got) }).toEqual({ name, size: original.length, sha256: sha256(original) });
  await fs.rm(dest, { force: true });
  return result;
}

/** name -> catalog record body, from whichever of `stores` can be read (damaged files are skipped). */
async function catalogRecords(stores: readonly string[]): Promise<Map<string, { fileId: string; datasetCount: number; k: number }>> {
  const records = new Map<string, { fileId: string; datasetCount: number; k: number }>();
  for (const store of stores) {
    const catalog = path.join(store, 'catalog');
    for (const bucket of await fs.readdir(catalog).catch(() => [] as string[])) {
      for (const file of await fs.readdir(path.join(catalog, bucket))) {
        // A plain record file holds one sealed record; a segment (a check folds plain files into one) a header line and one per line.
        const text = await fs.readFile(path.join(catalog, bucket, file), 'utf8');
        for (const line of (file.endsWith('.seg') ? text.split('\n').slice(1) : [text])) {
          try {
            const body = (JSON.parse(line) as { body: { name: string; fileId: string; datasetCount: number; k: number } }).body;
            records.set(body.name, body);
          } catch {
            // damaged on purpose by some tests
          }
        }
      }
    }
  }
  return records;
}

/**
 * The exit code `get NAME` must give when only the stores in `usable` count: 0 when every data
 * block (index < k) of every data set is on one of them, 1 when some must be rebuilt from parity.
 * Worked out from the block files, so the expectation is exact rather than "0 or 1".
 */
async function expectedGetCode(stores: readonly string[], usable: readonly number[], name: string): Promise<number> {
  const record = (await catalogRecords(usable.map((i) => stores[i]))).get(name);
  if (!record) throw new Error(`no readable catalog record for ${name}`);
  const present = new Set<string>();
  for (const i of usable) {
    for (const file of await listBlockFiles(stores[i])) {
      if (path.basename(path.dirname(file)) !== record.fileId) continue;
      const [d, b] = path.basename(file).split('.');
      present.add(`${d}.${b}`);
    }
  }
  for (let d = 0; d < record.datasetCount; d++) {
    for (let b = 0; b < record.k; b++) if (!present.has(`${d}.${b}`)) return 1;
  }
  return 0;
}

/**
 * Every file of FILES reads back byte-identical, each with the exit code the surviving stores
 * imply; returns those codes (name -> code).
 */
async function expectAllReadBack(
  run: (args: string[]) => Promise<RainRun>, outDir: string, expected: Record<string, number>,
): Promise<Record<string, number>> {
  await Promise.all(Object.entries(FILES).map(([name, bytes]) => expectReadsBack(run, name, bytes, outDir, expected[name])));
  return expected;
}

async function expectedCodes(stores: readonly string[], usable: readonly number[]): Promise<Record<string, number>> {
  const codes: Record<string, number> = {};
  for (const name of Object.keys(FILES)) codes[name] = await expectedGetCode(stores, usable, name);
  return codes;
}

const ALL_ZERO: Record<string, number> = Object.fromEntries(Object.keys(FILES).map((n) => [n, 0]));

async function verifyJson(run: (args: string[]) => Promise<RainRun>, code: number): Promise<JsonReport> {
  const result = await run(['verify', '--json']);
  expectExit(result, code);
  return JSON.parse(result.stdout) as JsonReport;
}

async function statusJson(run: (args: string[]) => Promise<RainRun>, code: number): Promise<JsonStatus> {
  const result = await run(['status', '--json']);
  expectExit(result, code);
  return JSON.parse(result.stdout) as JsonStatus;
}

/**
 * `rebuild` then `verify`: the rebuild must say it repaired something (exit 1, README: "a rebuild
 * that fixed something") and the pool must verify clean afterwards. Both are asserted together, so
 * a failure shows whether the repair happened but was not reported, or did not happen.
 */
async function expectRebuildRepairs(run: (args: string[]) => Promise<RainRun>): Promise<void> {
  const rebuild = await run(['rebuild']);
  const verify = await run(['verify']);
  expect({ rebuild: rebuild.code, verifyAfter: verify.code, rebuildStderr: rebuild.stderr, verifyStdout: verify.stdout })
    .toEqual({ rebuild: 1, verifyAfter: 0, rebuildStderr: expect.any(String), verifyStdout: expect.any(String) });
}

function runWith(env: Record<string, string | undefined>, pool: string): (args: string[]) => Promise<RainRun> {
  return (args) => rain([...args, '-p', pool], { env });
}

// ---------------------------------------------------------------------------------------------

/*
 * Every test starts from the same pool: it is made once, copied aside, and copied back before
 * each test (same paths, so the manifests' store paths and the registry stay right). Making it
 * afresh each time would cost an init and a put per test.
 */
let scratch: Scratch;
let pristine: string;
let alpha: TestPool;
let other: Scratch | undefined;
let outDir: string;

beforeAll(async () => {
  scratch = await makeScratch('rain-meta-');
  alpha = await standardPool(scratch, 'alpha');
  pristine = await fs.mkdtemp(path.join(os.tmpdir(), 'rain-meta-pristine-'));
  await fs.cp(scratch.root, pristine, { recursive: true });
});

afterAll(async () => {
  await scratch?.cleanup();
  if (pristine) await fs.rm(pristine, { recursive: true, force: true });
});

beforeEach(async () => {
  for (const entry of await fs.readdir(scratch.root)) await fs.rm(path.join(scratch.root, entry), { recursive: true, force: true });
  await fs.cp(pristine, scratch.root, { recursive: true });
  other = undefined;
  outDir = await scratch.dir('out');
});

afterEach(async () => {
  await other?.cleanup();
});

describe('a store whose manifest (rain-pool.json) is garbage', () => {
  it('-p at a healthy store: get works, verify reports the metadata problem (1), rebuild repairs it, verify 0', async () => {
    const pool = alpha;
    await fs.writeFile(path.join(pool.stores[1], 'rain-pool.json'), seededBytes(700, 103));

    const [report] = await Promise.all([verifyJson(pool.run, 1), expectAllReadBack(pool.run, outDir, ALL_ZERO)]);
    expect(report.metadataProblems).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`store 1 \\(${escapeRegExp(pool.stores[1])}\\).*manifest`))]));
    expect(report.files.map((f) => f.state)).toEqual(['healthy', 'healthy']);

    await expectRebuildRepairs(pool.run);
    // The repaired store's own manifest is good again: it opens the pool without any registry.
    const bare = { RAIN_CONFIG_DIR: path.join(scratch.root, 'empty-config') };
    const ls = await rain(['ls', '--json', '-p', pool.stores[1]], { env: bare });
    expectExit(ls, 0);
    expect((JSON.parse(ls.stdout) as JsonReport).files.map((f) => f.name)).toEqual(Object.keys(FILES));
  });

  it('-p at the damaged store: the pool is found through the registry (get, ls 0; status, verify 1), and rebuild repairs it', async () => {
    const pool = alpha;
    await fs.writeFile(path.join(pool.stores[0], 'rain-pool.json'), seededBytes(700, 104));
    const viaDamaged = runWith(scratch.env, pool.stores[0]);

    const [ls, status, report] = await Promise.all([
      viaDamaged(['ls', '--json']),
      statusJson(viaDamaged, 1),
      verifyJson(viaDamaged, 1),
      expectAllReadBack(viaDamaged, outDir, ALL_ZERO),
    ]);
    expectExit(ls, 0);
    expect((JSON.parse(ls.stdout) as JsonReport).files.map((f) => f.name)).toEqual(Object.keys(FILES));
    expect(status.poolName).toBe('alpha');
    expect(status.problems).toEqual(expect.arrayContaining([expect.stringMatching(/store 0 .*manifest/)]));
    expect(report.metadataProblems).toEqual(expect.arrayContaining([expect.stringMatching(/store 0 .*manifest/)]));

    await expectRebuildRepairs(viaDamaged);
  });

  it('-p at the damaged store with no registry entry for it: one clear line, exit 64, and nothing is changed', async () => {
    const pool = alpha;
    await fs.writeFile(path.join(pool.stores[0], 'rain-pool.json'), seededBytes(700, 105));
    const before = await Promise.all(pool.stores.map((s) => snapshotTree(s)));
    const bare = { RAIN_CONFIG_DIR: path.join(scratch.root, 'empty-config') };
    for (const args of [['ls'], ['get', 'data/a.bin', '-o', path.join(outDir, 'a.bin')], ['put', path.join(scratch.root, 'src', 'data', 'a.bin'), '--as', 'x.bin']]) {
      const run = await rain([...args, '-p', pool.stores[0]], { env: bare });
      expectOneErrorLine(run, 64, new RegExp(`${escapeRegExp(pool.stores[0])}.*not a rain pool`));
    }
    expect(await fs.readdir(outDir)).toEqual([]);
    expect(await Promise.all(pool.stores.map((s) => snapshotTree(s)))).toEqual(before);
  });
});

describe('a store directory replaced by a store of another pool', () => {
  /** Pool "beta" in its own scratch (own registry), holding one file. */
  async function otherPool(): Promise<TestPool> {
    other = await makeScratch('rain-meta-other-');
    const beta = await makePool(other, 2, 1, 3, ['--block-size', '16K', '--name', 'beta']);
    const src = path.join(other.root, 'beta.bin');
    await fs.writeFile(src, seededBytes(100 * 1024, 106));
    expectExit(await beta.run(['put', src]), 0);
    return beta;
  }

  it('is treated as foreign: get works from the others (1), status reports it, put and rebuild never write to it', async () => {
    const pool = alpha;
    const beta = await otherPool();
    const codes = await expectedCodes(pool.stores, [0, 2]);
    expect(Object.values(codes)).toContain(1); // store 1 held data blocks, so reads must reconstruct
    await fs.rm(pool.stores[1], { recursive: true });
    await fs.rename(beta.stores[1], pool.stores[1]);
    const foreignBefore = await snapshotTree(pool.stores[1]);

    const [status, humanStatus] = await Promise.all([statusJson(pool.run, 1), pool.run(['status']), expectAllReadBack(pool.run, outDir, codes)]);
    expect(status.poolName).toBe('alpha');
    expect(status.stores.map((s) => s.condition)).toEqual(['online', 'foreign', 'online']);
    expectExit(humanStatus, 1);
    expect(humanStatus.stdout).toMatch(new RegExp(`${escapeRegExp(pool.stores[1])}.*foreign`));

    const newFile = seededBytes(200 * 1024, 107);
    const src = path.join(scratch.root, 'c.bin');
    await fs.writeFile(src, newFile);
    const put = await pool.run(['put', src]);
    expectExit(put, 1);
    expect(put.stderr).toMatch(/^rain: c\.bin: \d+ blocks not written/m);
    // rebuild cannot restore store 1's blocks (it must not write there): still repairable, exit 1.
    expectExit(await pool.run(['rebuild']), 1);

    const report = await verifyJson(pool.run, 1);
    expect(report.storeProblems).toEqual([expect.stringMatching(new RegExp(`store 1 \\(${escapeRegExp(pool.stores[1])}\\): foreign`))]);
    expect(report.files.filter((f) => f.state === 'lost')).toEqual([]);
    // The file put while store 1 was foreign reads back too (from the blocks on stores 0 and 2).
    await expectReadsBack(pool.run, 'c.bin', newFile, outDir, await expectedGetCode(pool.stores, [0, 2], 'c.bin'));
    expect(await snapshotTree(pool.stores[1])).toEqual(foreignBefore);
  });

  it('in slot 0, with -p POOLNAME: the named pool is opened (not the foreign one), and neither the foreign store nor its pool is written', async () => {
    const pool = alpha;
    const beta = await otherPool();
    await fs.rm(pool.stores[0], { recursive: true });
    await fs.rename(beta.stores[0], pool.stores[0]);
    const foreignBefore = await snapshotTree(pool.stores[0]);
    const betaRestBefore = await Promise.all(beta.stores.slice(1).map((s) => snapshotTree(s)));
    const byName = runWith(scratch.env, 'alpha');

    const status = await byName(['status', '--json']);
    const ls = await byName(['ls', '--json']);
    const src = path.join(scratch.root, 'c.bin');
    await fs.writeFile(src, seededBytes(50 * 1024, 108));
    const put = await byName(['put', src]);
    const foreignAfter = await snapshotTree(pool.stores[0]);
    const betaRestAfter = await Promise.all(beta.stores.slice(1).map((s) => snapshotTree(s)));
    // Everything observed at once, so a failure shows the whole story (which pool was opened,
    // what was listed, and whether the put wrote into the foreign directory).
    const statusDoc = JSON.parse(status.stdout) as JsonStatus;
    expect({
      status: { code: status.code, poolName: statusDoc.poolName, conditions: statusDoc.stores.map((s) => s.condition) },
      ls: { code: ls.code, names: (JSON.parse(ls.stdout) as JsonReport).files.map((f) => f.name) },
      put: put.code,
      foreignStoreUnchanged: JSON.stringify(foreignAfter) === JSON.stringify(foreignBefore),
      otherPoolsStoresUnchanged: JSON.stringify(betaRestAfter) === JSON.stringify(betaRestBefore),
    }).toEqual({
      status: { code: 1, poolName: 'alpha', conditions: ['foreign', 'online', 'online'] },
      ls: { code: 1, names: Object.keys(FILES) },
      put: 1,
      foreignStoreUnchanged: true,
      otherPoolsStoresUnchanged: true,
    });
  });
});

describe('damaged catalog records', () => {
  it('every catalog record file of the -p store overwritten with garbage: ls and get still work; verify 1, rebuild, verify 0', async () => {
    const pool = alpha;
    const catalog = path.join(pool.stores[0], 'catalog');
    let damaged = 0;
    for (const bucket of await fs.readdir(catalog)) {
      for (const file of await fs.readdir(path.join(catalog, bucket))) {
        const full = path.join(catalog, bucket, file);
        await fs.writeFile(full, seededBytes((await fs.stat(full)).size, 109 + damaged++));
      }
    }
    // One record file per name: the files and the directory entries data and data/sub (each in its own bucket).
    expect(damaged).toBe(Object.keys(FILES).length + 2);

    const [ls, report] = await Promise.all([pool.run(['ls', '--json']), verifyJson(pool.run, 1), expectAllReadBack(pool.run, outDir, ALL_ZERO)]);
    expectExit(ls, 0);
    expect((JSON.parse(ls.stdout) as JsonReport).files.map((f) => f.name)).toEqual(Object.keys(FILES));
    expect(report.metadataProblems.join('\n')).toMatch(/catalog/);

    await expectRebuildRepairs(pool.run);
  });
});

describe('an emptied store directory', () => {
  it('verify 1, rebuild refills it (the same block files as before), verify 0', async () => {
    const pool = alpha;
    const blocksBefore = await relativeBlockFiles(pool.stores[1]);
    expect(blocksBefore.length).toBeGreaterThan(0);
    const codes = await expectedCodes(pool.stores, [0, 2]);
    for (const entry of await fs.readdir(pool.stores[1])) await fs.rm(path.join(pool.stores[1], entry), { recursive: true });

    const [report] = await Promise.all([verifyJson(pool.run, 1), expectAllReadBack(pool.run, outDir, codes)]);
    expect(report.storeProblems).toEqual([expect.stringMatching(/store 1 .*empty/)]);

    await expectRebuildRepairs(pool.run);
    expect(await relativeBlockFiles(pool.stores[1])).toEqual(blocksBefore);
    await expectAllReadBack(pool.run, outDir, ALL_ZERO);
  });
});

describe('rebuild --replace', () => {
  it('OLD a removed store: afterwards verify 0, status lists NEW (online, new epoch), NEW holds the lost blocks', async () => {
    const pool = alpha;
    const lostBlocks = await relativeBlockFiles(pool.stores[2]);
    await fs.rm(pool.stores[2], { recursive: true });
    const fresh = await scratch.dir('fresh');

    expectExit(await pool.run(['rebuild', '--replace', `${pool.stores[2]}=${fresh}`]), 1);
    expectExit(await pool.run(['verify']), 0);
    const status = await statusJson(runWith(scratch.env, 'alpha'), 0);
    expect(status.epoch).toBe(2);
    expect(status.stores.map((s) => [s.path, s.condition])).toEqual([[pool.stores[0], 'online'], [pool.stores[1], 'online'], [fresh, 'online']]);
    expect(await relativeBlockFiles(fresh)).toEqual(lostBlocks);
    await expectAllReadBack(pool.run, outDir, ALL_ZERO);
  });

  it('bad specs (an online OLD, no "=", a NEW that does not exist or is already a store, an unknown OLD) -> 64, one line each, nothing changed', async () => {
    const pool = alpha;
    await fs.rm(pool.stores[2], { recursive: true });
    const fresh = await scratch.dir('fresh');
    const snapshot = () => Promise.all([pool.stores[0], pool.stores[1], fresh].map((d) => snapshotTree(d)));
    const before = await snapshot();
    const specs: [string, RegExp][] = [
      [`${pool.stores[0]}=${fresh}`, /store 0 .*online/],
      [`1=${fresh}`, /store 1 .*online/],
      [`${pool.stores[2]}`, /OLD=NEW/],
      [`${pool.stores[2]}=${path.join(scratch.root, 'no-such-dir')}`, /no-such-dir.*does not exist/],
      [`${pool.stores[2]}=${pool.stores[1]}`, /already a store/],
      [`${path.join(scratch.root, 'elsewhere')}=${fresh}`, /not a store of this pool/],
    ];
    // Each of them must fail before touching anything, so they may as well run side by side.
    const runs = await Promise.all(specs.map(([spec]) => pool.run(['rebuild', '--replace', spec])));
    runs.forEach((run, i) => expectOneErrorLine(run, 64, specs[i][1]));
    expect(await snapshot()).toEqual(before);
    const status = await statusJson(pool.run, 1);
    expect(status.epoch).toBe(1);
    expect(status.stores.map((s) => s.path)).toEqual(pool.stores);
  });

  it('one good and one bad --replace in the same command -> 64 and nothing changed: NEW stays empty and can be used afterwards', async () => {
    const pool = alpha;
    await fs.rm(pool.stores[2], { recursive: true });
    const fresh = await scratch.dir('fresh');
    const fresh2 = await scratch.dir('fresh2');

    const run = await pool.run(['rebuild', '--replace', `${pool.stores[2]}=${fresh}`, '--replace', `${pool.stores[0]}=${fresh2}`]);
    expectOneErrorLine(run, 64, /store 0 .*online/);
    const left = { fresh: await snapshotTree(fresh), fresh2: await snapshotTree(fresh2) };
    const status = await statusJson(pool.run, 1);

    // The correct command alone must still work afterwards.
    const retry = await pool.run(['rebuild', '--replace', `${pool.stores[2]}=${fresh}`]);
    expect({ left, epoch: status.epoch, retry: { code: retry.code, stderr: retry.stderr } })
      .toEqual({ left: { fresh: {}, fresh2: {} }, epoch: 1, retry: { code: 1, stderr: expect.any(String) } });
    expectExit(await pool.run(['verify']), 0);
  });
});
