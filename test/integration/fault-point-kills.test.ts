import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { expectExit } from '../helpers/cli-assertions.js';
import { makePool, makeScratch, seededBytes, type Scratch, type TestPool } from '../helpers/rain-cli.js';

const FAST = { RAIN_STALE_AFTER_MS: '500', RAIN_HEARTBEAT_MS: '100' };

/**
 * A SIGKILL at every named fault point (docs/PROTOCOL.md, "Fault injection") of every process
 * role: the coordinator of a put, rm, get or check, and a worker of a put or check. After each,
 * the next check finishes or undoes what was interrupted, verify is clean, and the file reads
 * back as its old or its new content, never anything else.
 */
interface Case {
  readonly point: string;
  readonly role: 'coordinator' | 'worker';
  readonly command: 'put' | 'rm' | 'get' | 'check';
}

const CASES: Case[] = [
  { point: 'put-announced', role: 'coordinator', command: 'put' },
  { point: 'put-blocks-written', role: 'coordinator', command: 'put' },
  { point: 'put-committed', role: 'coordinator', command: 'put' },
  { point: 'worker-encoded@2', role: 'worker', command: 'put' },
  { point: 'rm-committed', role: 'coordinator', command: 'rm' },
  { point: 'get-opened', role: 'coordinator', command: 'get' },
  { point: 'coordinator-agreed', role: 'coordinator', command: 'check' },
  { point: 'coordinator-registered', role: 'coordinator', command: 'check' },
  { point: 'coordinator-confirmed', role: 'coordinator', command: 'check' },
  { point: 'worker-registered@2', role: 'worker', command: 'check' },
  { point: 'worker-checking@2', role: 'worker', command: 'check' },
];

const digest = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

describe('a SIGKILL at each named fault point, for each process role', () => {
  let scratch: Scratch;
  let pool: TestPool;
  const source = (): string => path.join(scratch.root, 'a.bin');

  beforeAll(async () => {
    scratch = await makeScratch('rain-kills-');
    pool = await makePool(scratch, 2, 1, 3, ['--block-size', '16K']);
  });
  afterAll(async () => scratch.cleanup());

  it.each(CASES)('$role of $command killed at $point: the next check settles it and the file reads old or new', async ({ point, role, command }) => {
    const old = seededBytes(120_000, point.length * 7 + 1);
    await fs.writeFile(source(), old);
    expectExit(await pool.run(['put', source(), '--as', 'a.bin'], { env: FAST }), 0);
    const fresh = seededBytes(180_000, point.length * 7 + 2);
    await fs.writeFile(source(), fresh);
    const args = command === 'put' ? ['put', source(), '--as', 'a.bin'] : command === 'rm' ? ['rm', 'a.bin'] : command === 'get' ? ['get', 'a.bin', '-o', path.join(scratch.root, 'out.bin')] : ['check'];
    const killed = await pool.run(args, { env: { ...FAST, RAIN_FAULT: `${point}:kill` } });
    if (role === 'coordinator') expect(killed.signal).toBe('SIGKILL');
    else expect(killed.signal).toBeNull();
    await new Promise((r) => setTimeout(r, 700)); // the killed command's heartbeats go stale

    const check = await pool.run(['check'], { env: FAST });
    expect({ point, code: check.code === 0 || check.code === 1 ? 'ok' : check.code, stderr: check.stderr }).toEqual({ point, code: 'ok', stderr: expect.any(String) });
    expectExit(await pool.run(['verify'], { env: FAST }), 0);
    const get = await pool.run(['get', 'a.bin'], { env: FAST });
    const seen = get.code === 64 ? 'absent' : get.code === 0 ? digest(get.stdoutBytes) : `exit ${get.code}`;
    const allowed = command === 'put' ? [digest(old), digest(fresh)] : command === 'rm' ? [digest(old), 'absent'] : [digest(old)];
    expect({ point, seen: allowed.includes(seen) ? 'old or new' : seen }).toEqual({ point, seen: 'old or new' });
  }, 120_000);
});
