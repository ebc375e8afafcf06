import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** The repository root (tests drive the built CLI in bin/ + dist/, built by `npm test`). */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
export const RAIN_BIN = path.join(REPO_ROOT, 'bin', 'rain');

export interface RainRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutBytes: Buffer;
}

export interface RunOptions {
  readonly env?: Record<string, string | undefined>;
  readonly input?: Buffer | string;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

/** Runs `rain ARGS...` as a real child process; never throws on a non-zero exit. */
export function rain(args: readonly string[], options: RunOptions = {}): Promise<RainRun> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', ...options.env };
    for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
    const child = spawn(process.execPath, [RAIN_BIN, ...args], { cwd: options.cwd, env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
    child.stdin.on('error', () => undefined);
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** Runs a bash command line (for real shell pipes: FIFOs, early-closing readers); never throws on a non-zero exit. */
export function runShell(commandLine: string, env: Record<string, string> = {}, timeoutMs = 120_000): Promise<RainRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', commandLine], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
  });
}

/** A scratch directory per test with its own rain config dir, removed by `cleanup`. */
export interface Scratch {
  readonly root: string;
  readonly env: Record<string, string>;
  dir(name: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function makeScratch(prefix = 'rain-test-'): Promise<Scratch> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  return {
    root,
    env: { RAIN_CONFIG_DIR: path.join(root, '.config') },
    async dir(name: string) {
      const dir = path.join(root, name);
      await fs.mkdir(dir, { recursive: true });
      return dir;
    },
    async cleanup() {
      // RAIN_TEST_KEEP=1 keeps every scratch directory for a post-mortem of a failed race.
      if (process.env.RAIN_TEST_KEEP) return;
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

export interface TestPool {
  readonly stores: string[];
  readonly scratch: Scratch;
  /** Runs rain with -p pointing at the first store and the scratch config. */
  run(args: readonly string[], options?: RunOptions): Promise<RainRun>;
}

/** `rain init` over n fresh directories; asserts it worked so tests start from a real pool. */
export async function makePool(scratch: Scratch, k: number, m: number, n = k + m, extra: string[] = []): Promise<TestPool> {
  const stores: string[] = [];
  for (let i = 0; i < n; i++) stores.push(await scratch.dir(`store${i}`));
  const init = await rain(['init', '-k', String(k), '-m', String(m), ...extra, ...stores], { env: scratch.env });
  if (init.code !== 0) throw new Error(`rain init failed (${init.code}): ${init.stderr}`);
  return {
    stores,
    scratch,
    run: (args, options = {}) => rain([...args, '-p', stores[0]], { ...options, env: { ...scratch.env, ...options.env } }),
  };
}

/** Deterministic pseudo-random bytes (xorshift32), so failures replay. */
export function seededBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** All block files under a store, relative paths. */
export async function listBlockFiles(storePath: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(dir: string): Promise<void> {
    for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.name.endsWith('.blk')) found.push(full);
    }
  }
  await walk(path.join(storePath, 'blocks'));
  return found.sort();
}
