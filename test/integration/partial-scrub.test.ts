/**
 * Partial scrubs through the real CLI (docs/USER-GUIDE.md §6): `check --percent 25` four times
 * reads every data set of an unchanged pool exactly once, oldest first; a block damaged in a data
 * set not yet read is found (and repaired) by the run whose turn it is, and only that run exits
 * non-zero; `--older-than` skips data sets read recently; `status` shows the scrub-age histogram
 * and the last check, from the scrub logs and manifest alone.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { expectOneErrorLine } from '../helpers/cli-assertions.js';
import { listBlockFiles, makePool, makeScratch, seededBytes, type Scratch, type TestPool } from '../helpers/rain-cli.js';
import { flipBit } from '../helpers/store-tampering.js';

let scratch: Scratch;
let pool: TestPool;

/** 40 files of 5,000 bytes: above the pack limit of a 2 x 4 KiB pool (half a pack), so one data set each. */
const NAMES = Array.from({ length: 40 }, (_, i) => `src/f${String(i).padStart(2, '0')}`);

beforeAll(async () => {
  scratch = await makeScratch('rain-scrub-');
  pool = await makePool(scratch, 2, 1, 3, ['--block-size', '4K']);
  await scratch.dir('src');
  for (const [i, name] of NAMES.entries()) await fs.writeFile(path.join(scratch.root, name), seededBytes(5000, i + 1));
  const put = await pool.run(['put', '-r', 'src'], { cwd: scratch.root });
  expect(put.code).toBe(0);
});
afterAll(async () => scratch.cleanup());

interface ScrubJson {
  readonly exitCode: number;
  readonly files: { name: string; repairedBlocks: number }[];
  readonly scrub: { percent?: number; totalDatasets: number; selectedDatasets: number; oldestLeftVerifiedAtMs?: number | null };
}

/** A block file of `name` on store 0, found by the name in its header. */
async function aBlockOf(name: string): Promise<string> {
  for (const file of await listBlockFiles(pool.stores[0])) {
    if ((await fs.readFile(file)).includes(Buffer.from(name))) return file;
  }
  throw new Error(`no block of ${name} on store 0`);
}

it('check --percent 25 four times covers every data set once; a damaged block is found in its turn; --older-than skips recent ones; status shows the ages', async () => {
  expectOneErrorLine(await pool.run(['check', '--percent', '0']), 64, /--percent '0': give a number greater than 0/);

  const runs: ScrubJson[] = [];
  const check = async (): Promise<ScrubJson> => {
    const run = await pool.run(['check', '--percent', '25', '--json']);
    const doc = JSON.parse(run.stdout) as ScrubJson;
    expect(run.code).toBe(doc.exitCode);
    runs.push(doc);
    return doc;
  };
  await check();
  await check();
  // A block of a file neither run read is damaged: the run that reads it finds and repairs it.
  const seen = new Set(runs.flatMap((r) => r.files.map((f) => f.name)));
  const victim = NAMES.find((name) => !seen.has(name)) as string;
  await flipBit(await aBlockOf(victim));
  await check();
  await check();

  for (const run of runs) {
    expect(run.scrub).toMatchObject({ percent: 25, totalDatasets: 40, selectedDatasets: 10 });
    expect(run.files).toHaveLength(10);
  }
  expect(runs[0].scrub.oldestLeftVerifiedAtMs).toBeNull();
  expect(runs[3].scrub.oldestLeftVerifiedAtMs).toEqual(expect.any(Number));
  const readBy = runs.map((r) => r.files.map((f) => f.name));
  expect(readBy.flat().sort()).toEqual(NAMES);
  const turn = readBy.findIndex((names) => names.includes(victim));
  expect(turn).toBeGreaterThanOrEqual(2);
  expect(runs[turn].files.find((f) => f.name === victim)?.repairedBlocks).toBe(1);
  expect(runs.map((r) => r.exitCode)).toEqual(runs.map((_, i) => (i === turn ? 1 : 0)));

  // Three new files: the only data sets not read within the last day.
  const more = await scratch.dir('more');
  for (const i of [0, 1, 2]) await fs.writeFile(path.join(more, `new${i}`), seededBytes(5000, 100 + i));
  expect((await pool.run(['put', '-r', 'more'], { cwd: scratch.root })).code).toBe(0);
  const verify = await pool.run(['verify', '--older-than', '1', '--json']);
  expect(verify.code).toBe(0);
  const verified = JSON.parse(verify.stdout) as ScrubJson;
  expect(verified.files.map((f) => f.name).sort()).toEqual(['more/new0', 'more/new1', 'more/new2']);
  expect(verified.scrub).toMatchObject({ totalDatasets: 43, selectedDatasets: 3 });

  const status = await pool.run(['status']);
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(/^ {2}never +0$/m);
  expect(status.stdout).toMatch(/^ {2}< 1 d +43 +#{40}$/m);
  expect(status.stdout).toMatch(/^last check: \S+ \(just now\), healthy, 10 of 40 data sets, [01] blocks repaired, 0 data sets lost$/m);
  const json = JSON.parse((await pool.run(['status', '--json'])).stdout) as { scrubAges: { label: string; datasets: number }[]; lastCheck: { verdict: string; scope: { percent: number } } };
  expect(json.scrubAges.map((b) => b.datasets)).toEqual([0, 43, 0, 0, 0]);
  expect(json.lastCheck).toMatchObject({ verdict: 'healthy', scope: { percent: 25, totalDatasets: 40 } });
});
