import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import fsSync from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { expectExit } from '../helpers/cli-assertions.js';
import { makePool, makeScratch, seededBytes, type RainRun, type Scratch, type TestPool } from '../helpers/rain-cli.js';
import { blocksOf, fileIdOf, flipBit, listing } from '../helpers/store-tampering.js';
import { mountTmpfs, unmountAll } from './fs-mounts.js';

/**
 * The fault matrix: one store (within m) full, read-only, with junk in epochs/, with a
 * FIFO where a block and its manifest belong, with links planted inside, or with its identity
 * damaged, and each of check, rebuild, verify, get, put and rm run on the pool: each must end 0
 * or 1, and every file must still read back byte for byte. A store is one unit of failure.
 */
const FAULTS = ['full', 'read-only', 'junk in epochs/', 'FIFOs', 'symlinks', 'identity damaged'] as const;
type Fault = (typeof FAULTS)[number];
const COMMANDS = ['verify', 'get', 'put', 'rm', 'check', 'rebuild'] as const;
const FAULTY = 2;

/** Mounting tmpfs (for a full or read-only store) needs root; without it those rows are skipped, visibly. */
const canMount = ((): boolean => {
  const dir = fsSync.mkdtempSync(path.join(os.tmpdir(), 'rain-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    fsSync.rmSync(dir, { recursive: true, force: true });
  }
})();
const needsMount = (fault: Fault): boolean => fault === 'full' || fault === 'read-only';

for (const fault of FAULTS) {
  const suite = needsMount(fault) && !canMount ? describe.skip : describe;
  suite(`one store with ${fault}${needsMount(fault) && !canMount ? ' (SKIPPED: mounting tmpfs needs root)' : ''}`, () => {
    let scratch: Scratch;
    let pool: TestPool;
    let outside = '';
    let outsideBefore: Record<string, string> = {};
    const files = new Map<string, Buffer>([['a.bin', seededBytes(150_000, 71)], ['b.bin', seededBytes(90_000, 72)], ['c.bin', seededBytes(60_000, 73)]]);

    beforeAll(async () => {
      scratch = await makeScratch('rain-matrix-');
      if (needsMount(fault)) {
        const mount = await mountTmpfs(await scratch.dir(`store${FAULTY}`), 'size=2m');
        if (!mount.ok) throw new Error(`tmpfs mount failed: ${mount.reason}`);
      }
      // 2+1: the smallest pool with a store to spare (every command starts a process per store).
      pool = await makePool(scratch, 2, 1, 3, ['--block-size', '16K']);
      const sources = await scratch.dir('sources');
      for (const [name, bytes] of files) await fs.writeFile(path.join(sources, name), bytes);
      expectExit(await pool.run(['put', '-r', sources, '--as', '']), 0);
      outside = await scratch.dir('outside');
      await applyFault(fault);
      outsideBefore = await listing(outside);
    }, 60_000);
    afterAll(async () => {
      await unmountAll();
      await scratch.cleanup();
    });

    async function applyFault(which: Fault): Promise<void> {
      const store = pool.stores[FAULTY];
      if (which === 'full') {
        // Fill the file system to the last byte; every write into the store now fails with ENOSPC.
        const filler = await fs.open(path.join(store, 'filler'), 'w');
        try {
          for (;;) await filler.write(Buffer.alloc(64 * 1024));
        } catch {
          // ENOSPC: full
        } finally {
          await filler.close();
        }
      } else if (which === 'read-only') {
        execFileSync('mount', ['-o', 'remount,ro', store]);
      } else if (which === 'junk in epochs/') {
        await fs.mkdir(path.join(store, 'epochs'), { recursive: true });
        await fs.writeFile(path.join(store, 'epochs', '99999999999999999999.claim'), 'junk');
        await fs.writeFile(path.join(store, 'epochs', '9007199254740993.claim'), 'junk');
      } else if (which === 'FIFOs') {
        const [victim] = (await blocksOf(pool.stores, await fileIdOf(pool.stores[0], 'a.bin'))).filter((b) => b.store === FAULTY);
        await fs.rm(victim.path);
        execFileSync('mkfifo', [victim.path]);
        await fs.rm(path.join(store, 'rain-pool.json'));
        execFileSync('mkfifo', [path.join(store, 'rain-pool.json')]);
      } else if (which === 'symlinks') {
        await fs.rm(path.join(store, 'tmp'), { recursive: true, force: true });
        await fs.mkdir(path.join(outside, 'tmp'));
        await fs.symlink(path.join(outside, 'tmp'), path.join(store, 'tmp'));
        const bucket = path.join(store, 'blocks', (await fileIdOf(pool.stores[0], 'b.bin')).slice(0, 2));
        await fs.cp(bucket, path.join(outside, 'bucket'), { recursive: true });
        await fs.rm(bucket, { recursive: true });
        await fs.symlink(path.join(outside, 'bucket'), bucket);
      } else {
        await flipBit(path.join(store, 'rain-store.json'));
      }
    }

    function expectZeroOrOne(run: RainRun, what: string): void {
      expect({ what, signal: run.signal, code: run.code === 0 || run.code === 1 ? '0 or 1' : run.code, stderr: run.stderr })
        .toEqual({ what, signal: null, code: '0 or 1', stderr: expect.any(String) });
    }

    /** Every live file reads back byte for byte (one get -r of the whole pool). */
    async function expectIntact(): Promise<void> {
      const out = path.join(scratch.root, `out-${Date.now()}`);
      const get = await pool.run(['get', '-r', '.', '-o', out], { timeoutMs: 60_000 });
      expectZeroOrOne(get, 'get -r');
      for (const [name, bytes] of files) {
        expect({ name, same: (await fs.readFile(path.join(out, name)).catch(() => Buffer.alloc(0))).equals(bytes) }).toEqual({ name, same: true });
      }
      await fs.rm(out, { recursive: true, force: true });
    }

    it.each(COMMANDS)('%s ends 0 or 1 and every file is intact', async (command) => {
      let run: RainRun;
      if (command === 'get') {
        run = await pool.run(['get', 'a.bin', '-o', path.join(scratch.root, 'a.out')], { timeoutMs: 60_000 });
        expect((await fs.readFile(path.join(scratch.root, 'a.out'))).equals(files.get('a.bin') as Buffer)).toBe(true);
      } else if (command === 'put') {
        // A new file, and a new version of b.bin (whose blocks sit behind the planted link, if any).
        const bytes = seededBytes(80_000, 74);
        await fs.writeFile(path.join(scratch.root, 'd.bin'), bytes);
        expectZeroOrOne(await pool.run(['put', path.join(scratch.root, 'd.bin')], { timeoutMs: 60_000 }), 'put d.bin');
        files.set('d.bin', bytes);
        const newer = seededBytes(95_000, 75);
        await fs.writeFile(path.join(scratch.root, 'b.bin'), newer);
        run = await pool.run(['put', path.join(scratch.root, 'b.bin')], { timeoutMs: 60_000 });
        files.set('b.bin', newer);
      } else if (command === 'rm') {
        run = await pool.run(['rm', 'c.bin'], { timeoutMs: 60_000 });
        files.delete('c.bin');
        expect((await pool.run(['get', 'c.bin'])).code).toBe(64);
      } else {
        run = await pool.run([command], { timeoutMs: 90_000 });
      }
      expectZeroOrOne(run, command);
      if (fault === 'symlinks') expect(await listing(outside)).toEqual(outsideBefore);
      // After each command that writes or removes (verify and get write nothing in the pool; get compared its bytes above).
      if (command !== 'verify' && command !== 'get') await expectIntact();
    }, 180_000);

    it('afterwards the pool verifies (0, or 1 while the store stays full or read-only)', async () => {
      const verify = await pool.run(['verify'], { timeoutMs: 60_000 });
      expect(verify.code).toBe(needsMount(fault) ? verify.code === 0 ? 0 : 1 : 0);
    }, 60_000);
  });
}
