import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listBlockFiles, makePool, makeScratch, rain, RAIN_BIN, runShell, seededBytes, type Scratch, type TestPool } from '../helpers/rain-cli.js';
import { hasStrace } from '../helpers/strace.js';

const ESCAPE = '\u001b[';

describe('output for scripts and cron', () => {
  let scratch: Scratch;
  let pool: TestPool;

  beforeAll(async () => {
    scratch = await makeScratch();
    pool = await makePool(scratch, 2, 1, 3, ['--block-size', '4K', '--name', 'cronpool']);
    await fs.writeFile(path.join(scratch.root, 'f.bin'), seededBytes(10_000, 1));
    expect((await pool.run(['put', path.join(scratch.root, 'f.bin')])).code).toBe(0);
  });
  afterAll(async () => scratch.cleanup());

  it.each([
    ['ls'], ['status'], ['verify'], ['rebuild'],
  ])('%s --json prints exactly one JSON document and nothing on stderr', async (command) => {
    const run = await pool.run([command, '--json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const doc = JSON.parse(run.stdout) as { ok: boolean };
    expect(doc.ok).toBe(true);
  });

  it('errors are one JSON document with --json too', async () => {
    const run = await pool.run(['get', 'nope', '-o', path.join(scratch.root, 'x'), '--json']);
    expect(run.code).toBe(64);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, exitCode: 64 });
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('with a pipe (cron) there is no colour or spinner, even when TERM asks for colour', async () => {
    for (const args of [['status'], ['ls'], ['verify'], ['put', path.join(scratch.root, 'f.bin'), '--as', 'g.bin']]) {
      const run = await pool.run(args, { env: { NO_COLOR: undefined, TERM: 'xterm-256color', FORCE_COLOR: undefined } });
      expect(run.code).toBe(0);
      expect(run.stdout).not.toContain(ESCAPE);
      expect(run.stderr).not.toContain(ESCAPE);
    }
  });

  it('--quiet prints nothing on success', async () => {
    const run = await pool.run(['verify', '--quiet']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('');
  });

  it('the pool can be named with -p NAME or RAIN_POOL', async () => {
    const byName = await rain(['ls', '-p', 'cronpool', '--json'], { env: scratch.env });
    expect(byName.code).toBe(0);
    const byEnv = await rain(['ls', '--json'], { env: { ...scratch.env, RAIN_POOL: pool.stores[1] } });
    expect(byEnv.code).toBe(0);
    expect(JSON.parse(byEnv.stdout)).toEqual(JSON.parse(byName.stdout));
  });

  it('--help documents every exit code; unknown options are usage errors', async () => {
    const help = await rain(['--help']);
    expect(help.code).toBe(0);
    for (const code of ['0', '1', '2', '64', '65', '74']) expect(help.stdout).toMatch(new RegExp(`^\\s+${code}\\s`, 'm'));
    expect((await rain(['verify', '--frobnicate'])).code).toBe(64);
    expect((await rain(['nosuchcommand'])).code).toBe(64);
  });

  it('on a terminal-less stdout but NO_COLOR unset, table borders are plain ASCII-safe text', async () => {
    const run = await pool.run(['status'], { env: { NO_COLOR: undefined } });
    expect(run.stdout).toMatch(/online/);
  });
});

describe('worker processes (M1, M11)', () => {
  let scratch: Scratch;
  let pool: TestPool;

  beforeAll(async () => {
    scratch = await makeScratch();
    pool = await makePool(scratch, 4, 2, 6);
  });
  afterAll(async () => scratch.cleanup());

  it('one worker process per store is visible while a command drives every store, and none remain after', async () => {
    // 12 data sets of 4 MiB: a get hands them to every worker, and a reader that does not read
    // keeps them all waiting on stdout while we look at the process table.
    const big = path.join(scratch.root, 'big.bin');
    await fs.writeFile(big, seededBytes(48 * 1024 * 1024, 3));
    expect((await pool.run(['put', big, '--as', 'big.bin'])).code).toBe(0);
    const child = spawn(process.execPath, [RAIN_BIN, 'get', 'big.bin', '-o', '-', '-p', pool.stores[0]], {
      env: { ...process.env, ...scratch.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pause();
    const workers = await waitFor(async () => {
      const found = await workerProcesses(child.pid as number);
      return found.length === 6 ? found : undefined;
    });
    for (const store of pool.stores) expect(workers.some((cmd) => cmd.includes(store))).toBe(true);
    let received = 0;
    child.stdout.on('data', (chunk: Buffer) => { received += chunk.length; });
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(received).toBe(48 * 1024 * 1024);
    expect(await workerProcesses(child.pid as number)).toEqual([]);
  });

  (hasStrace() ? it : it.skip)(`a worker starts with its first piece of work: a get of one small file forks one, an rm none${hasStrace() ? '' : ' (SKIPPED: no strace to count forks)'}`, async () => {
    const small = path.join(scratch.root, 'small.bin');
    await fs.writeFile(small, seededBytes(1000, 4));
    const blocksBefore = await allBlockFiles();
    expect((await pool.run(['put', small, '--as', 'small.bin'])).code).toBe(0);
    expect(await allBlockFiles()).toBe(blocksBefore + 6);
    const forked = async (args: string[]): Promise<number> => {
      const traced = await runShell(`strace -f -qq -s 256 -e trace=execve -o ${scratch.root}/trace ${process.execPath} ${RAIN_BIN} ${args.join(' ')} -p ${pool.stores[0]} -q; echo "exit $?"`, scratch.env);
      expect(traced.stdout).toContain('exit 0');
      return (await fs.readFile(`${scratch.root}/trace`, 'utf8')).split('\n').filter((line) => /worker-main/.test(line)).length;
    };
    expect(await forked(['get', 'small.bin', '-o', `${scratch.root}/small.out`])).toBe(1);
    expect(await fs.readFile(`${scratch.root}/small.out`)).toEqual(await fs.readFile(small));
    expect(await forked(['rm', 'small.bin'])).toBe(0);
    // The rm removed the file's blocks itself, from this process: none is left for a check.
    expect(await allBlockFiles()).toBe(blocksBefore);
  });

  async function allBlockFiles(): Promise<number> {
    return (await Promise.all(pool.stores.map(listBlockFiles))).reduce((sum, files) => sum + files.length, 0);
  }
});


async function workerProcesses(parentPid: number): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parentPid) continue;
      const cmdline = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ');
      if (cmdline.includes('worker-main.js') || cmdline.includes('rain-worker')) found.push(cmdline);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
