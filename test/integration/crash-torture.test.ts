import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makePool, makeScratch, RAIN_BIN, seededBytes, type Scratch, type TestPool } from '../helpers/rain-cli.js';
import { SeededRandom, seedFromEnv } from '../helpers/seeded-random.js';

/**
 * Crash torture (issue: constant updates without locks). Random put / sync / rm / check / rebuild
 * commands are SIGKILLed at random instants (the coordinator or one of its workers). After each
 * round `rain check` must finish or undo what was interrupted, `rain verify` must exit 0, and every
 * name must read back as one of the versions that could be there: its last reported-written
 * version or one written since (or absent, if a delete or a never-finished first write is possible).
 * Replay a failure with RAIN_TORTURE_SEED=<seed>; run long with `npm run torture`.
 */
const SEED = seedFromEnv('RAIN_TORTURE_SEED');
const ROUNDS = Number(process.env.RAIN_TORTURE_ROUNDS ?? 10);
const FAST = { RAIN_STALE_AFTER_MS: '400', RAIN_HEARTBEAT_MS: '100' };
const NAMES = ['a.bin', 'b.bin', 'mirror/c.bin'];
const ABSENT = 'absent';

function digest(bytes: Buffer | null): string {
  return bytes === null ? ABSENT : createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

describe(`crash torture (seed ${SEED}, ${ROUNDS} rounds; replay with RAIN_TORTURE_SEED=${SEED})`, () => {
  let scratch: Scratch;
  let pool: TestPool;
  const random = new SeededRandom(SEED);
  /** For each name, the digests it may legitimately read back as. */
  const possible = new Map<string, Set<string>>(NAMES.map((n) => [n, new Set([ABSENT])]));
  const log: string[] = [];

  beforeAll(async () => {
    process.stdout.write(`crash torture seed ${SEED} (replay: RAIN_TORTURE_SEED=${SEED})\n`);
    scratch = await makeScratch('rain-torture-');
    pool = await makePool(scratch, 4, 2, 6, ['--block-size', '4K']);
    await scratch.dir('mirror');
  });
  afterAll(async () => {
    if (process.env.RAIN_TORTURE_KEEP) process.stdout.write(`kept ${scratch.root}\n`);
    else await scratch.cleanup();
  });

  it('every name reads back as one of its written versions after every kill', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const op = random.pick(['put', 'put', 'sync', 'rm', 'check', 'rebuild'] as const);
      const name = op === 'sync' ? 'mirror/c.bin' : random.pick(NAMES.slice(0, 2));
      let args: string[];
      let newDigest: string | undefined;
      if (op === 'put' || op === 'sync') {
        const previous = op === 'sync' ? await fs.readFile(path.join(scratch.root, 'mirror', 'c.bin')).catch(() => null) : null;
        const content = previous && random.next() < 0.7 ? mutate(previous, random) : seededBytes(random.int(60_000), random.int(1e9) + 1);
        const file = op === 'sync' ? path.join(scratch.root, 'mirror', 'c.bin') : path.join(scratch.root, `src-${round}`);
        await fs.writeFile(file, content);
        newDigest = digest(content);
        args = op === 'sync' ? ['sync', path.join(scratch.root, 'mirror'), '--as', 'mirror'] : ['put', file, '--as', name];
      } else if (op === 'rm') {
        args = ['rm', name];
        newDigest = ABSENT;
      } else {
        args = [op];
      }
      const killAfterMs = random.next() < 0.25 ? undefined : random.int(1500);
      const killWorker = random.next() < 0.3;
      const outcome = await runAndMaybeKill([...args, '-p', pool.stores[0]], killAfterMs, killWorker, random);
      log.push(`round ${round}: ${args.join(' ')} -> ${outcome}`);
      if (newDigest !== undefined) {
        const set = possible.get(name) as Set<string>;
        const rmOfAbsent = op === 'rm' && outcome === 'exit 64';
        if (outcome === 'exit 0' || (op === 'put' && outcome === 'exit 1')) possible.set(name, new Set([newDigest]));
        else if (!rmOfAbsent) set.add(newDigest);
      }
      await settleAndCompare(round);
    }
  }, 600_000 + ROUNDS * 60_000);

  async function settleAndCompare(round: number): Promise<void> {
    await new Promise((r) => setTimeout(r, 450)); // let the killed command's heartbeats go stale
    const check = await pool.run(['check'], { env: FAST });
    const context = `seed ${SEED}, round ${round}\n${log.join('\n')}\ncheck: ${check.stdout}${check.stderr}`;
    if (check.code !== 0 && check.code !== 1) throw new Error(`check exited ${check.code}\n${context}`);
    const verify = await pool.run(['verify'], { env: FAST });
    if (verify.code !== 0) throw new Error(`verify exited ${verify.code} after check\n${verify.stdout}${verify.stderr}\n${context}`);
    // One `get -r` reads every name (a command per name cost a third of the test's time); it must
    // exit 0, or 64 for a pool that holds no file, and a name it did not write is absent.
    const out = path.join(scratch.root, `out-${round}`);
    const get = await pool.run(['get', '-r', '.', '-o', out], { env: FAST });
    const emptyPool = get.code === 64 && /holds no file/.test(get.stderr);
    for (const name of NAMES) {
      const bytes = get.code === 0 ? await fs.readFile(path.join(out, name)).catch(() => null) : null;
      const seen = get.code === 0 || emptyPool ? digest(bytes) : `get -r exit ${get.code}: ${get.stderr}`;
      const allowed = possible.get(name) as Set<string>;
      if (!allowed.has(seen)) throw new Error(`${name} reads as ${seen}, allowed ${[...allowed].join(', ')}\n${context}`);
      expect(allowed.has(seen)).toBe(true);
      possible.set(name, new Set([seen]));
    }
  }
});

function mutate(previous: Buffer, random: SeededRandom): Buffer {
  const copy = Buffer.from(previous);
  if (copy.length > 0) copy.fill(random.int(256), random.int(copy.length), random.int(copy.length) + 1);
  return random.next() < 0.2 ? Buffer.concat([copy, seededBytes(random.int(5000), random.int(1e9) + 1)]) : copy;
}

/** Runs rain; after `killAfterMs` SIGKILLs it (or one of its workers). Returns "exit N" or "killed". */
async function runAndMaybeKill(args: string[], killAfterMs: number | undefined, killWorker: boolean, random: SeededRandom): Promise<string> {
  const child = spawn(process.execPath, [RAIN_BIN, ...args], {
    env: { ...process.env, ...FAST, NO_COLOR: '1', RAIN_CONFIG_DIR: path.join(path.dirname(args[args.length - 1]), '.config') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.resume();
  const exited = new Promise<string>((resolve) => child.on('close', (code, signal) => resolve(signal ? `killed (${signal})` : `exit ${code}`)));
  if (killAfterMs !== undefined) {
    const timer = setTimeout(async () => {
      if (killWorker) {
        const workers = await childPids(child.pid as number);
        try {
          if (workers.length > 0) {
            process.kill(random.pick(workers), 'SIGKILL');
            return;
          }
        } catch (error) {
          // The worker exited between the listing and the kill (its command was ending).
          if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
        }
      }
      child.kill('SIGKILL');
    }, killAfterMs);
    const result = await exited;
    clearTimeout(timer);
    return result;
  }
  return exited;
}

async function childPids(parent: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === parent) pids.push(Number(entry));
  }
  return pids;
}
