import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { expectExit } from '../helpers/cli-assertions.js';
import { listBlockFiles, makePool, RAIN_BIN, seededBytes, makeScratch, type Scratch, type TestPool } from '../helpers/rain-cli.js';
import { which } from '../helpers/which.js';

/**
 * Ctrl-C and SIGTERM (docs/USER-GUIDE.md, "Stopping a command"): the command ends within a
 * second with 130 or 143 and one line saying so; what was committed stays; the interrupted
 * version is left for the next check; no temp file of the command stays in any store's tmp/
 * (another running command's do); no partial destination file of a get stays.
 */

const FAST = { RAIN_STALE_AFTER_MS: '500', RAIN_HEARTBEAT_MS: '100' };
/** A stop takes at most ~0.9 s by design; this leaves room for a loaded test machine's process exit. */
const PROMPT_MS = 1500;

interface Running {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly closed: Promise<{ code: number | null; atMs: number }>;
}

/** Starts a command in its own process group, as a shell starts a foreground job. */
function start(command: string, args: readonly string[], env: Record<string, string>): Running {
  const child = spawn(command, args, { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => { text += d.toString('utf8'); });
  child.stderr?.on('data', (d: Buffer) => { text += d.toString('utf8'); });
  child.stdin?.on('error', () => undefined);
  const killer = setTimeout(() => { if (child.pid) process.kill(-child.pid, 'SIGKILL'); }, 30_000);
  const closed = new Promise<{ code: number | null; atMs: number }>((resolve) => child.on('close', (code) => {
    clearTimeout(killer);
    resolve({ code, atMs: Date.now() });
  }));
  return { child, output: () => text, closed };
}

/** Sends `signal` to the job's whole process group (what Ctrl-C and `kill -- -PGID` do) and waits for it to end. */
async function signalGroup(run: Running, signal: NodeJS.Signals): Promise<{ code: number | null; tookMs: number }> {
  const sentMs = Date.now();
  process.kill(-(run.child.pid as number), signal);
  const { code, atMs } = await run.closed;
  return { code, tookMs: atMs - sentMs };
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const endMs = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > endMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function tempFiles(pool: TestPool): Promise<string[]> {
  const all: string[] = [];
  for (const store of pool.stores) for (const name of await fs.readdir(path.join(store, 'tmp')).catch(() => [])) all.push(path.join(store, 'tmp', name));
  return all;
}

async function blockCount(pool: TestPool): Promise<number> {
  let count = 0;
  for (const store of pool.stores) count += (await listBlockFiles(store)).length;
  return count;
}

describe('Ctrl-C and SIGTERM stop a command cleanly', () => {
  let scratch: Scratch;
  let pool: TestPool;
  const committed = seededBytes(300_000, 11);
  const rainArgs = (args: readonly string[]): string[] => [RAIN_BIN, ...args, '-p', pool.stores[0]];

  beforeAll(async () => {
    scratch = await makeScratch('rain-signals-');
    pool = await makePool(scratch, 2, 1, 3, ['--block-size', '64K']);
    await fs.writeFile(path.join(scratch.root, 'committed.bin'), committed);
    expectExit(await pool.run(['put', path.join(scratch.root, 'committed.bin')], { env: FAST }), 0);
  });
  afterAll(async () => scratch.cleanup());

  it('SIGINT to a put: 130 within a second, its temp files gone (another put\'s kept), committed files intact, the file absent or whole after check', async () => {
    const big = seededBytes(1024 * 1024, 12);
    await fs.writeFile(path.join(scratch.root, 'big.bin'), big);
    const blocksBefore = await blockCount(pool);

    // Another rain process at work in the same pool: a put from a pipe spools into store 0's tmp/.
    const piped = start(process.execPath, rainArgs(['put', '-', '--as', 'piped.bin']), { ...scratch.env, ...FAST });
    piped.child.stdin?.write(seededBytes(200_000, 13));
    await until('the piped put\'s spool in tmp/', async () => (await tempFiles(pool)).length === 1);
    const othersTemp = await tempFiles(pool);

    // The put under test: every block written, stopped before its commit.
    const put = start(process.execPath, rainArgs(['put', path.join(scratch.root, 'big.bin')]), { ...scratch.env, ...FAST, RAIN_FAULT: 'put-blocks-written:pause=8000' });
    const datasets = Math.ceil(big.length / (2 * 64 * 1024));
    await until('the put\'s blocks', async () => (await blockCount(pool)) >= blocksBefore + datasets * 3);
    const stopped = await signalGroup(put, 'SIGINT');
    expect({ code: stopped.code, prompt: stopped.tookMs < PROMPT_MS, output: put.output() }).toEqual({
      code: 130, prompt: true, output: expect.stringMatching(/^rain: interrupted \(SIGINT\); files committed before are kept, the interrupted put is left for the next check[^\n]*\n$/),
    });
    expect(await tempFiles(pool)).toEqual(othersTemp);

    // SIGTERM to the piped put: 143, and now its own spool is gone too.
    const terminated = await signalGroup(piped, 'SIGTERM');
    expect({ code: terminated.code, prompt: terminated.tookMs < PROMPT_MS, output: piped.output() }).toEqual({ code: 143, prompt: true, output: expect.stringMatching(/^rain: interrupted \(SIGTERM\)/) });
    expect(await tempFiles(pool)).toEqual([]);

    await new Promise((resolve) => setTimeout(resolve, 600)); // the stopped puts' heartbeats go stale
    const check = await pool.run(['check'], { env: FAST });
    expect([0, 1]).toContain(check.code);
    const restored = await scratch.dir('after-check');
    expectExit(await pool.run(['get', '-r', '.', '-o', restored], { env: FAST }), 0);
    const names = (await fs.readdir(restored)).sort();
    expect(names.filter((name) => name !== 'big.bin')).toEqual(['committed.bin']);
    expect((await fs.readFile(path.join(restored, 'committed.bin'))).equals(committed)).toBe(true);
    if (names.includes('big.bin')) expect((await fs.readFile(path.join(restored, 'big.bin'))).equals(big)).toBe(true);
  }, 60_000);

  const script = which('script');
  if (!script) console.log('SKIPPED: Ctrl-C through a pseudo-terminal needs util-linux `script`, not found on PATH');
  (script ? it : it.skip)('Ctrl-C typed at a terminal while the spinner runs stops a put with 130', async () => {
    // `script` gives rain a pseudo-terminal (stdout and stderr are TTYs, so the spinner runs);
    // the byte 0x03 written to it is Ctrl-C, turned into SIGINT by the terminal only if nobody
    // has put it into raw mode.
    const command = `stty cols 100 rows 30; exec ${process.execPath} ${RAIN_BIN} put ${path.join(scratch.root, 'committed.bin')} --as typed.bin -p ${pool.stores[0]}`;
    const colourful: NodeJS.ProcessEnv = { ...process.env, ...scratch.env, ...FAST, RAIN_FAULT: 'put-blocks-written:pause=8000' };
    delete colourful.NO_COLOR; // the spinner runs only without it
    const child = spawn(script as string, ['-qfec', command, '/dev/null'], { env: colourful, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let text = '';
    child.stdout.on('data', (d: Buffer) => { text += d.toString('utf8'); });
    const closed = new Promise<{ code: number | null; atMs: number }>((resolve) => child.on('close', (code) => resolve({ code, atMs: Date.now() })));
    try {
      await until('the spinner', async () => text.includes('putting'));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const sentMs = Date.now();
      child.stdin.write('\x03');
      const { code, atMs } = await closed;
      expect({ code, prompt: atMs - sentMs < PROMPT_MS, said: /rain: interrupted \(SIGINT\)/.test(text) }).toEqual({ code: 130, prompt: true, said: true });
    } finally {
      if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
    }
    expect(await tempFiles(pool)).toEqual([]);
  }, 30_000);

  it('SIGTERM to a get -r (workers included): 143 within a second, one line, no partial file at the destination', async () => {
    const destination = await scratch.dir('restored');
    const get = start(process.execPath, rainArgs(['get', '-r', '.', '-o', destination]), { ...scratch.env, ...FAST, RAIN_FAULT: 'worker-decoded:pause=8000' });
    const parts = async (): Promise<string[]> => (await fs.readdir(destination)).filter((name) => name.endsWith('.part'));
    await until('a .part file', async () => (await parts()).length > 0);
    const stopped = await signalGroup(get, 'SIGTERM');
    // The workers got SIGTERM too: the one line says interrupted, never that a worker died.
    expect({ code: stopped.code, prompt: stopped.tookMs < PROMPT_MS, output: get.output() }).toEqual({
      code: 143, prompt: true, output: expect.stringMatching(/^rain: interrupted \(SIGTERM\); files already written are kept, partly written ones were removed[^\n]*\n$/),
    });
    expect(await fs.readdir(destination)).toEqual([]);
    expect(await tempFiles(pool)).toEqual([]);
  }, 30_000);
});
