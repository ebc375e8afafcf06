import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makePool, makeScratch, seededBytes, type RainRun, type Scratch, type TestPool } from '../helpers/rain-cli.js';
import { parsePromText, type PromFamily } from '../helpers/prom-text.js';

const BOX_DRAWING = /[\u2500-\u257F]/;
const ANSI_ESCAPE = /\u001b\[/;
/** As cron runs it: no terminal, and nothing in the environment that turns colour off. */
const CRON_ENV = { NO_COLOR: undefined, TERM: 'xterm-256color', FORCE_COLOR: undefined };
const FILES = 24;

function expectPlain(run: RainRun): void {
  expect(run.stdout).not.toMatch(BOX_DRAWING);
  expect(run.stdout).not.toMatch(ANSI_ESCAPE);
  expect(run.stderr).not.toMatch(ANSI_ESCAPE);
}

function sample(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  return families.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe('output for operators: plain off a terminal, summaries, --quiet, --metrics-file', () => {
  let scratch: Scratch;
  let pool: TestPool;

  beforeAll(async () => {
    scratch = await makeScratch();
    pool = await makePool(scratch, 2, 1, 3, ['--block-size', '4K']);
    const tree = await scratch.dir('tree');
    for (let i = 0; i < FILES; i++) await fs.writeFile(path.join(tree, `f${String(i).padStart(2, '0')}.bin`), seededBytes(3000 + i, i + 1));
    expect((await pool.run(['put', '-r', tree])).code).toBe(0);
  });
  afterAll(async () => scratch.cleanup());

  it('a healthy pool: status is plain columns; check --quiet prints nothing and writes a metrics file the collector can read', async () => {
    const status = await pool.run(['status'], { env: CRON_ENV });
    expect(status.code).toBe(0);
    expectPlain(status);
    expect(status.stdout).toMatch(/^slot\s+path\s+state\s+free\s+size$/m);
    expect(status.stdout).toMatch(new RegExp(`^0\\s+${pool.stores[0]}\\s+online\\s`, 'm'));

    const metricsFile = path.join(scratch.root, 'rain-check.prom');
    const check = await pool.run(['check', '--quiet', '--metrics-file', metricsFile], { env: CRON_ENV });
    expect(check.code).toBe(0);
    expect(check.stdout).toBe('');
    expect(check.stderr).toBe('');
    const families = parsePromText(await fs.readFile(metricsFile, 'utf8'));
    expect(sample(families, 'rain_pool_health', { command: 'check', verdict: 'healthy' })).toBe(0);
    expect(sample(families, 'rain_command_exit_code')).toBe(0);
    expect(sample(families, 'rain_stored_files')).toBe(FILES);
    expect(sample(families, 'rain_datasets_lost')).toBe(0);
    expect(sample(families, 'rain_last_check_result', { verdict: 'healthy' })).toBe(0);
    expect(sample(families, 'rain_command_duration_seconds')).toBeGreaterThan(0);
    for (const slot of ['0', '1', '2']) expect(sample(families, 'rain_store_online', { slot, state: 'online' })).toBe(1);
    expect(await fs.readdir(scratch.root)).not.toContainEqual(expect.stringMatching(/\.tmp$/));
  });

  it('one store directory gone: verify, rebuild and status print a short plain summary naming the store, the cause and the next step', async () => {
    await fs.rename(pool.stores[1], `${pool.stores[1]}.away`);
    try {
      const verify = await pool.run(['verify'], { env: CRON_ENV });
      expect(verify.code).toBe(1);
      expectPlain(verify);
      const lines = verify.stdout.trimEnd().split('\n');
      expect(lines.length).toBeLessThanOrEqual(20);
      const storeLine = lines.filter((l) => l.startsWith('store 1 '));
      expect(storeLine).toHaveLength(1);
      expect(storeLine[0]).toContain(pool.stores[1]);
      expect(storeLine[0]).toContain('directory not found');
      expect(storeLine[0]).toContain(`mkdir -p ${pool.stores[1]}`);
      expect(storeLine[0]).toContain('rain rebuild --replace 1=NEWDIR');
      expect(verify.stdout).toMatch(/^next: /m);
      expect(verify.stdout).toContain(`... and ${FILES - 10} more troubled files`);

      // --verbose lists every file (as --json does).
      const verbose = await pool.run(['verify', '--verbose'], { env: CRON_ENV });
      expect(verbose.code).toBe(1);
      expect(verbose.stdout.split('\n').filter((l) => /^tree\/f\d+\.bin\s+\S+ \S+\s+degraded\s/.test(l))).toHaveLength(FILES);

      // rebuild --quiet cannot repair onto a missing directory: it says so (it used to print nothing).
      const metricsFile = path.join(scratch.root, 'rain-rebuild.prom');
      const rebuild = await pool.run(['rebuild', '--quiet', '--metrics-file', metricsFile], { env: CRON_ENV });
      expect(rebuild.code).toBe(1);
      expectPlain(rebuild);
      const quietLines = rebuild.stdout.trimEnd().split('\n');
      expect(quietLines.length).toBeLessThanOrEqual(4);
      expect(quietLines[0]).toMatch(/^store 1 \(.*\): missing, directory not found; missing blocks in \d+ files?, not repaired in \d+ files?; next: /);
      expect(rebuild.stdout).toMatch(/: degraded/);
      const families = parsePromText(await fs.readFile(metricsFile, 'utf8'));
      expect(sample(families, 'rain_pool_health', { command: 'rebuild', verdict: 'degraded' })).toBe(1);
      expect(sample(families, 'rain_store_online', { slot: '1', path: pool.stores[1], state: 'missing' })).toBe(0);
      expect(sample(families, 'rain_command_exit_code')).toBe(1);

      const status = await pool.run(['status'], { env: CRON_ENV });
      expect(status.code).toBe(1);
      expectPlain(status);
      expect(status.stdout).toMatch(new RegExp(`^1\\s+${pool.stores[1]}\\s+missing\\s`, 'm'));
      expect(status.stdout).toMatch(/^store 1 .*directory not found.*next: /m);
    } finally {
      await fs.rename(`${pool.stores[1]}.away`, pool.stores[1]);
    }
  });
});
