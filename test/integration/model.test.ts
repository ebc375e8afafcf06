import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makePool, makeScratch, seededBytes, type Scratch, type TestPool } from '../helpers/rain-cli.js';
import { SeededRandom, seedFromEnv } from '../helpers/seeded-random.js';

/**
 * Model-based test: a random sequence of put / rm / sync / get against the pool and against an
 * in-memory model (name -> bytes), compared after every step with ls and get. Replay with
 * RAIN_MODEL_SEED=<seed>; RAIN_MODEL_STEPS sets the length.
 */
const SEED = seedFromEnv('RAIN_MODEL_SEED');
const STEPS = Number(process.env.RAIN_MODEL_STEPS ?? 24);

describe(`pool versus an in-memory model (seed ${SEED}, ${STEPS} steps; replay with RAIN_MODEL_SEED=${SEED})`, () => {
  let scratch: Scratch;
  let pool: TestPool;
  let mirror: string;
  const random = new SeededRandom(SEED);
  const model = new Map<string, Buffer>();

  beforeAll(async () => {
    scratch = await makeScratch('rain-model-');
    pool = await makePool(scratch, 3, 2, 6, ['--block-size', '4K']);
    mirror = await scratch.dir('mirror');
  });
  afterAll(async () => scratch.cleanup());

  it('agrees with the model after every operation', async () => {
    const trail: string[] = [];
    for (let step = 0; step < STEPS; step++) {
      const op = random.pick(['put', 'put', 'rm', 'sync', 'get'] as const);
      const name = random.pick(['x', 'y', 'dir/z']);
      if (op === 'put') {
        const content = seededBytes(random.int(40_000), random.int(1e9) + 1);
        const file = path.join(scratch.root, `step-${step}`);
        await fs.writeFile(file, content);
        expect((await pool.run(['put', file, '--as', name])).code).toBe(0);
        model.set(name, content);
      } else if (op === 'rm') {
        const run = await pool.run(['rm', name]);
        expect(run.code).toBe(model.has(name) ? 0 : 64);
        model.delete(name);
      } else if (op === 'sync') {
        // Change, add or remove one file of the mirror directory, then sync it with --delete.
        const file = random.pick(['m1', 'm2', 'm3']);
        const existing = await fs.readFile(path.join(mirror, file)).catch(() => null);
        if (existing && random.next() < 0.3) await fs.rm(path.join(mirror, file));
        else {
          const content = existing && random.next() < 0.6 ? Buffer.from(existing) : seededBytes(random.int(30_000), random.int(1e9) + 1);
          if (content.length > 0) content[random.int(content.length)] ^= 0x5a;
          await fs.writeFile(path.join(mirror, file), content);
        }
        const emptySource = (await fs.readdir(mirror)).length === 0;
        const mirrored = [...model.keys()].some((key) => key.startsWith('mirror/'));
        const synced = await pool.run(['sync', mirror, '--as', 'mirror', '--delete']);
        if (emptySource && mirrored) {
          // sync --delete refuses an empty source (an unmounted disk must not empty the mirror).
          expect(synced.code).toBe(64);
        } else {
          expect(synced.code).toBe(0);
          for (const key of [...model.keys()]) if (key.startsWith('mirror/')) model.delete(key);
          for (const entry of await fs.readdir(mirror)) model.set(`mirror/${entry}`, await fs.readFile(path.join(mirror, entry)));
        }
      } else {
        const run = await pool.run(['get', name]);
        const expected = model.get(name);
        expect(run.code).toBe(expected ? 0 : 64);
        if (expected) expect(run.stdoutBytes.equals(expected)).toBe(true);
      }
      trail.push(`${step}: ${op} ${name}`);
      const ls = JSON.parse((await pool.run(['ls', '--json'])).stdout) as { files: { name: string; sizeBytes: number }[] };
      const listed = Object.fromEntries(ls.files.map((f) => [f.name, f.sizeBytes]));
      const expected = Object.fromEntries([...model].map(([n, b]) => [n, b.length]));
      if (JSON.stringify(listed, Object.keys(listed).sort()) !== JSON.stringify(expected, Object.keys(expected).sort())) {
        throw new Error(`seed ${SEED}: after ${trail.join(', ')}\nls ${JSON.stringify(listed)}\nmodel ${JSON.stringify(expected)}`);
      }
    }
    for (const [name, content] of model) expect((await pool.run(['get', name])).stdoutBytes.equals(content)).toBe(true);
    expect((await pool.run(['verify'])).code).toBe(0);
    expect((await pool.run(['check'])).code).toBe(0);
  }, 600_000);
});
