import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { snapshotScratch, type ScratchSnapshot } from '../helpers/pool-snapshot.js';
import { listBlockFiles, makePool, makeScratch, seededBytes, type Scratch, type TestPool } from '../helpers/rain-cli.js';

interface CheckDoc {
  epoch: number;
  verdict: string;
  ranBy?: string;
  phases: { name: string; ms: number }[];
  workers: { slot: number; registeredDatasets: number; checkedDatasets: number; takenOver: number; state: string }[];
  versionReports: { name?: string; outcome: string }[];
  lastCheck: { datasets: number; repairedBlocks: number; lostDatasets: number };
  files: { name: string; state: string }[];
}

/** Short heartbeat limits so "abandoned" is reached in about a second instead of ten. */
const FAST = { RAIN_STALE_AFTER_MS: '1500', RAIN_HEARTBEAT_MS: '200' };

describe('the initialization protocol (rain check)', () => {
  let scratch: Scratch;
  let pool: TestPool;
  const content = seededBytes(700_000, 9);
  const small = seededBytes(5_000, 10);
  let fresh: ScratchSnapshot;

  // One pool built once; every test starts from a copy of it as it stood after these two puts.
  beforeAll(async () => {
    scratch = await makeScratch();
    pool = await makePool(scratch, 4, 2, 6, ['--block-size', '16K']);
    await fs.writeFile(path.join(scratch.root, 'big.bin'), content);
    await fs.writeFile(path.join(scratch.root, 'small.bin'), small);
    expect((await pool.run(['put', path.join(scratch.root, 'big.bin')])).code).toBe(0);
    expect((await pool.run(['put', path.join(scratch.root, 'small.bin')])).code).toBe(0);
    fresh = await snapshotScratch(scratch);
  });
  beforeEach(async () => fresh.restore());
  afterAll(async () => scratch?.cleanup());

  const totalDatasets = Math.ceil(700_000 / (4 * 16384)) + 1;

  async function check(env: Record<string, string> = {}): Promise<{ code: number | null; doc: CheckDoc; stderr: string }> {
    const run = await pool.run(['check', '--json'], { env: { ...FAST, ...env } });
    return { code: run.code, doc: JSON.parse(run.stdout) as CheckDoc, stderr: run.stderr };
  }

  async function epochOf(): Promise<number> {
    return (JSON.parse((await pool.run(['status', '--json'])).stdout) as { epoch: number }).epoch;
  }

  async function expectContent(name: string, expected: Buffer): Promise<void> {
    const get = await pool.run(['get', name], { env: FAST });
    expect(get.stdoutBytes.equals(expected)).toBe(true);
  }

  it('runs every phase, splits the data sets over all six workers, and commits a new epoch', async () => {
    const { code, doc } = await check();
    expect(code).toBe(0);
    expect(doc.phases.map((p) => p.name)).toEqual(['claim', 'agree', 'register', 'check', 'confirm', 'commit']);
    expect(doc.workers).toHaveLength(6);
    expect(doc.workers.every((w) => w.state === 'confirmed')).toBe(true);
    expect(doc.workers.reduce((s, w) => s + w.registeredDatasets, 0)).toBe(totalDatasets);
    expect(doc.workers.reduce((s, w) => s + w.checkedDatasets, 0)).toBe(totalDatasets);
    expect(doc.epoch).toBe(2);
    expect(await epochOf()).toBe(2);
    // Every store records its worker's agreement, registration and confirmation for the epoch.
    for (const store of pool.stores) {
      const files = await fs.readdir(path.join(store, 'epochs'));
      for (const phase of ['claim', 'enter', 'register', 'confirm']) expect(files.some((f) => f.startsWith(`2.${phase}`))).toBe(true);
    }
  });

  it('a worker killed during initialization: the others take over its share and the check completes', async () => {
    const { code, doc } = await check({ RAIN_FAULT: 'worker-registered@2:kill' });
    expect(code).toBe(0);
    const dead = doc.workers.find((w) => w.slot === 2);
    expect(dead?.state).toBe('died');
    expect(doc.workers.reduce((s, w) => s + w.checkedDatasets, 0)).toBe(totalDatasets);
    expect(doc.workers.reduce((s, w) => s + w.takenOver, 0)).toBe(dead?.registeredDatasets);
    expect(doc.verdict).toBe('healthy');
    expect((await pool.run(['verify'])).code).toBe(0);
  });

  it('the coordinator killed after the workers confirmed: the pool stays usable and the next command finishes the check', async () => {
    const killed = await pool.run(['check'], { env: { ...FAST, RAIN_FAULT: 'coordinator-confirmed:kill' } });
    expect(killed.signal).toBe('SIGKILL');
    expect(await epochOf()).toBe(1); // nothing committed
    await new Promise((r) => setTimeout(r, 1700)); // let the claim's heartbeat go stale
    const verify = await pool.run(['verify'], { env: FAST });
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/interrupted/);
    const get = await pool.run(['get', 'big.bin'], { env: FAST });
    expect(get.stderr).toMatch(/interrupted; finishing it first/);
    expect(get.stdoutBytes.equals(content)).toBe(true);
    expect(await epochOf()).toBe(3); // epoch 2 was abandoned, 3 committed
    expect((await pool.run(['verify'], { env: FAST })).code).toBe(0);
  });

  it('a check that dies again while a get finishes it: later commands go on without it, rain check finishes it', async () => {
    expect((await pool.run(['check'], { env: { ...FAST, RAIN_FAULT: 'coordinator-confirmed:kill' } })).signal).toBe('SIGKILL');
    const before = await epochOf();
    await new Promise((r) => setTimeout(r, 1700)); // let the claim's heartbeat go stale
    // The get finishes the interrupted check, and dies in it the same way (as a check out of memory would).
    const dying = await pool.run(['get', 'big.bin'], { env: { ...FAST, RAIN_FAULT: 'coordinator-confirmed:kill' } });
    expect(dying.signal).toBe('SIGKILL');
    expect(dying.stderr).toMatch(/interrupted; finishing it first/);
    await new Promise((r) => setTimeout(r, 1700));
    const get = await pool.run(['get', 'big.bin'], { env: FAST });
    expect(get.code).toBe(0);
    expect(get.stderr).toMatch(new RegExp(`epochs ${before + 1} to ${before + 2} were all interrupted; going on without finishing them`));
    expect(get.stdoutBytes.equals(content)).toBe(true);
    expect(await epochOf()).toBe(before); // the get ran no check
    expect((await pool.run(['check'], { env: FAST })).code).toBe(0);
    expect(await epochOf()).toBe(before + 3);
    expect((await pool.run(['verify'], { env: FAST })).code).toBe(0);
  });

  it('a store directory removed during the check: the check completes degraded, rebuild restores it', async () => {
    const running = pool.run(['check', '--json'], { env: { ...FAST, RAIN_FAULT: 'worker-checking:pause=1500' } });
    await new Promise((r) => setTimeout(r, 700));
    await waitForFile(path.join(pool.stores[0], 'epochs', '2.register.0'));
    await fs.rm(pool.stores[3], { recursive: true });
    const run = await running;
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout) as CheckDoc;
    expect(doc.verdict).toBe('degraded');
    await expectContent('big.bin', content);
    await fs.mkdir(pool.stores[3]);
    expect((await pool.run(['rebuild'], { env: FAST })).code).toBe(1);
    expect((await pool.run(['verify'], { env: FAST })).code).toBe(0);
  });

  it('two checks started together: one runs, the other waits and reports its result', async () => {
    const [a, b] = await Promise.all([check(), check()]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const reports = [a.doc, b.doc];
    expect(reports.filter((r) => r.ranBy !== undefined)).toHaveLength(1);
    expect(reports.every((r) => r.epoch === 2)).toBe(true);
    expect(await epochOf()).toBe(2);
  });

  it('a second check started while one is in initialization mode waits for it', async () => {
    const first = check({ RAIN_FAULT: 'coordinator-agreed:pause=2000' });
    await waitForFile(path.join(pool.stores[0], 'epochs', '2.claim'));
    const second = await check();
    const firstDone = await first;
    expect(firstDone.code).toBe(0);
    expect(second.code).toBe(0);
    expect(second.doc.ranBy).toBe('a concurrent check');
    expect(second.doc.epoch).toBe(2); // it reports the result of the check that held epoch 2
    expect(await epochOf()).toBe(2);
  });

  it('a store that comes back with an old epoch is recognised and checked before it is trusted', async () => {
    const away = `${pool.stores[5]}.away`;
    await fs.rename(pool.stores[5], away);
    expect((await check()).code).toBe(1); // degraded: a store is missing
    await fs.writeFile(path.join(scratch.root, 'new.bin'), seededBytes(90_000, 3));
    expect((await pool.run(['put', path.join(scratch.root, 'new.bin')], { env: FAST })).code).toBe(1); // blocks for store 5 not written
    await fs.rename(away, pool.stores[5]);
    const status = JSON.parse((await pool.run(['status', '--json'])).stdout) as { problems: string[] };
    expect(status.problems.join('\n')).toMatch(/store 5 .*epoch 1, pool at 2/);
    const get = await pool.run(['get', 'new.bin'], { env: FAST });
    expect(get.stderr).toMatch(/came back from an older epoch/);
    expect(get.stdoutBytes.equals(seededBytes(90_000, 3))).toBe(true);
    expect((await pool.run(['verify'], { env: FAST })).code).toBe(0);
    const manifest = await fs.readFile(path.join(pool.stores[5], 'rain-pool.json'), 'utf8');
    expect(manifest).toContain('"epoch":3');
  });

  it('a put arriving during initialization mode is held until the pool is active, and corrupts nothing', async () => {
    const checking = check({ RAIN_FAULT: 'coordinator-agreed:pause=2500' });
    await waitForFile(path.join(pool.stores[0], 'epochs', '2.claim'));
    const startedAt = Date.now();
    await fs.writeFile(path.join(scratch.root, 'during.bin'), seededBytes(50_000, 4));
    const put = await pool.run(['put', path.join(scratch.root, 'during.bin')], { env: FAST });
    const checkDone = await checking;
    expect(checkDone.code).toBe(0);
    expect(put.code).toBe(0);
    expect(put.stderr).toMatch(/initialization mode; waiting/);
    expect(Date.now() - startedAt).toBeGreaterThan(1500);
    await expectContent('during.bin', seededBytes(50_000, 4));
    await expectContent('big.bin', content);
    expect((await pool.run(['verify'], { env: FAST })).code).toBe(0);
  });
});

describe('torn data sets: an update that died between its blocks', () => {
  let scratch: Scratch;
  let pool: TestPool;
  const v1 = seededBytes(200_000, 1);
  const v2 = seededBytes(200_000, 2);
  let torn: ScratchSnapshot;

  // The torn update is made once; every test starts from a copy of the pool as it left it.
  beforeAll(async () => {
    scratch = await makeScratch();
    pool = await makePool(scratch, 4, 2, 6, ['--block-size', '16K']);
    await fs.writeFile(path.join(scratch.root, 'doc.bin'), v1);
    expect((await pool.run(['put', path.join(scratch.root, 'doc.bin')])).code).toBe(0);
    // Version 2 writes all its blocks, then the writer dies before its commit point.
    await fs.writeFile(path.join(scratch.root, 'doc.bin'), v2);
    const died = await pool.run(['put', path.join(scratch.root, 'doc.bin')], { env: { ...FAST, RAIN_FAULT: 'put-blocks-written:kill' } });
    expect(died.signal).toBe('SIGKILL');
    await new Promise((r) => setTimeout(r, 1700)); // the writer's heartbeat goes stale
    torn = await snapshotScratch(scratch);
  });
  beforeEach(async () => torn.restore());
  afterAll(async () => scratch?.cleanup());

  /** Removes the newest-sequence blocks of doc.bin from the given stores. */
  async function dropNewBlocks(storeIndexes: number[]): Promise<void> {
    const sequences = new Set<bigint>();
    for (const store of pool.stores) for (const f of await listBlockFiles(store)) sequences.add(BigInt(path.basename(f).split('.')[2]));
    const newest = [...sequences].sort((a, b) => (a < b ? 1 : -1))[0];
    for (const i of storeIndexes) {
      for (const f of await listBlockFiles(pool.stores[i])) if (BigInt(path.basename(f).split('.')[2]) === newest) await fs.rm(f);
    }
  }

  it('readers see the old version until the check decides', async () => {
    expect((await pool.run(['get', 'doc.bin'])).stdoutBytes.equals(v1)).toBe(true);
  });

  it('rolls forward when every data set of the new version has k good blocks', async () => {
    await dropNewBlocks([1, 4]); // m = 2 stores lose their new blocks: still >= k everywhere
    const run = await pool.run(['check', '--json'], { env: FAST });
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout) as CheckDoc;
    expect(doc.versionReports.map((v) => v.outcome)).toEqual(['rolled-forward']);
    expect((await pool.run(['get', 'doc.bin'])).stdoutBytes.equals(v2)).toBe(true);
    expect((await pool.run(['verify'])).code).toBe(0);
  });

  it('rolls back when the new version lacks k good blocks; the old version stays', async () => {
    await dropNewBlocks([0, 2, 5]); // m + 1 stores lose them: below k
    const run = await pool.run(['check', '--json'], { env: FAST });
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout) as CheckDoc;
    expect(doc.versionReports.map((v) => v.outcome)).toEqual(['rolled-back']);
    expect((await pool.run(['get', 'doc.bin'])).stdoutBytes.equals(v1)).toBe(true);
    expect((await pool.run(['verify'])).code).toBe(0);
  });

  it('reports the file lost when neither version has k good blocks', async () => {
    await dropNewBlocks([0, 2, 5]);
    for (const i of [1, 3, 4]) for (const f of await listBlockFiles(pool.stores[i])) await fs.rm(f);
    const run = await pool.run(['check', '--json'], { env: FAST });
    expect(run.code).toBe(2);
    const doc = JSON.parse(run.stdout) as CheckDoc;
    expect(doc.verdict).toBe('lost');
    expect(doc.files.find((f) => f.name === 'doc.bin')?.state).toBe('lost');
    expect((await pool.run(['get', 'doc.bin', '-o', path.join(scratch.root, 'out.bin')])).code).toBe(2);
  });
});

describe('an unfinished write of a new name, overtaken by a committed write of the same name', () => {
  let scratch: Scratch;
  let pool: TestPool;
  afterAll(async () => scratch?.cleanup());

  it('the check removes it as obsolete (its worker reads the name\'s newest sequence from the catalogs) and keeps the newer', async () => {
    scratch = await makeScratch();
    pool = await makePool(scratch, 4, 2, 6, ['--block-size', '16K']);
    const v1 = seededBytes(200_000, 11);
    const v2 = seededBytes(200_000, 12);
    const source = path.join(scratch.root, 'new.bin');
    await fs.writeFile(source, v1);
    // The name is new: this write draws a file id of its own, and dies before its commit point.
    const died = await pool.run(['put', source], { env: { ...FAST, RAIN_FAULT: 'put-blocks-written:kill' } });
    expect(died.signal).toBe('SIGKILL');
    await new Promise((r) => setTimeout(r, 1700)); // the writer's heartbeat goes stale
    await fs.writeFile(source, v2);
    expect((await pool.run(['put', source], { env: FAST })).code).toBe(0);
    // One unfinished version of an unknown file id: the plan does not name it, so the worker must
    // look the name up itself; taking "no record" instead would roll the older write forward.
    const run = await pool.run(['check', '--json'], { env: FAST });
    const doc = JSON.parse(run.stdout) as CheckDoc;
    expect(doc.versionReports.map((v) => [v.name, v.outcome])).toEqual([['new.bin', 'obsolete-removed']]);
    expect((await pool.run(['get', 'new.bin'])).stdoutBytes.equals(v2)).toBe(true);
    expect((await pool.run(['verify'])).code).toBe(0);
  });
});

async function waitForFile(file: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fs.stat(file).then(() => true, () => false))) {
    if (Date.now() > deadline) throw new Error(`${file} did not appear`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
