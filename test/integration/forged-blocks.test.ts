import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { expectExit } from '../helpers/cli-assertions.js';
import { snapshotScratch, type ScratchSnapshot } from '../helpers/pool-snapshot.js';
import { makePool, makeScratch, seededBytes, type Scratch, type TestPool } from '../helpers/rain-cli.js';
import { blocksOf, fileIdOf, forgeBlock, type BlockFile } from '../helpers/store-tampering.js';

interface HealthDoc {
  files: { name: string; state: string; blocks: Record<string, number>; details: string[]; repairedBlocks: number }[];
  exitCode: number;
}

/**
 * Issue: "A data block with wrong bytes but valid CRCs (a forged block, a firmware bug, a bug of
 * ours): get returns wrong bytes with exit 0; verify blames the two correct parity blocks; rebuild
 * rewrites them from the bad data". The data set checksum in the catalog is the arbiter.
 */
describe.each([[4, 2], [3, 1]])('a %i+%i pool with a block forged (wrong bytes, valid CRCs)', (k, m) => {
  let scratch: Scratch;
  let pool: TestPool;
  let blocks: BlockFile[];
  const content = seededBytes(200_000, 41);
  const source = (): string => path.join(scratch.root, 'f.bin');
  let fresh: ScratchSnapshot;

  // One pool built once; every test starts from a copy of it as it stood after the put.
  beforeAll(async () => {
    scratch = await makeScratch();
    pool = await makePool(scratch, k, m, k + m, ['--block-size', '16K']);
    await fs.writeFile(source(), content);
    expectExit(await pool.run(['put', source()]), 0);
    blocks = await blocksOf(pool.stores, await fileIdOf(pool.stores[0], 'f.bin'));
    fresh = await snapshotScratch(scratch);
  });
  beforeEach(async () => fresh.restore());
  afterAll(async () => scratch?.cleanup());

  const block = (d: number, b: number): BlockFile => blocks.find((x) => x.datasetIndex === d && x.blockIndex === b) as BlockFile;

  async function verifyDoc(): Promise<HealthDoc> {
    const run = await pool.run(['verify', '--json']);
    return JSON.parse(run.stdout) as HealthDoc;
  }

  it('get returns the right bytes, verify blames only the forged data block, rebuild rewrites it from verified data', async () => {
    const forged = block(1, 0);
    const original = await fs.readFile(forged.path);
    await forgeBlock(forged.path);

    const get = await pool.run(['get', 'f.bin', '-o', path.join(scratch.root, 'out.bin')]);
    expectExit(get, 1);
    expect((await fs.readFile(path.join(scratch.root, 'out.bin'))).equals(content)).toBe(true);
    expect(get.stderr).toMatch(/reconstructed 1 data sets/);

    const before = await verifyDoc();
    expect(before.exitCode).toBe(1);
    expect(before.files[0].blocks.corrupt).toBe(1);
    expect(before.files[0].details).toEqual([expect.stringMatching(/^data set 1 block 0 on store \d+: corrupt \(its bytes disagree with the data set checksum/)]);

    expectExit(await pool.run(['rebuild']), 1);
    expect((await fs.readFile(forged.path)).equals(original)).toBe(true);
    expect((await verifyDoc()).exitCode).toBe(0);
    const again = await pool.run(['get', 'f.bin']);
    expectExit(again, 0);
    expect(again.stdoutBytes.equals(content)).toBe(true);
  });

  it('a forged parity block is blamed, and the data is not touched', async () => {
    const forged = block(2, k);
    const data = await Promise.all(blocks.filter((b) => b.blockIndex < k).map((b) => fs.readFile(b.path)));
    await forgeBlock(forged.path);
    expectExit(await pool.run(['get', 'f.bin', '-o', path.join(scratch.root, 'out.bin')]), 0);
    const doc = await verifyDoc();
    expect(doc.files[0].details).toEqual([expect.stringMatching(new RegExp(`^data set 2 block ${k} on store \\d+: corrupt \\(its bytes disagree with the parity of the verified data`))]);
    expectExit(await pool.run(['check']), 1);
    const after = await Promise.all(blocks.filter((b) => b.blockIndex < k).map((b) => fs.readFile(b.path)));
    expect(after.every((bytes, i) => bytes.equals(data[i]))).toBe(true);
    expect((await verifyDoc()).exitCode).toBe(0);
  });

  it('when no k blocks decode to the checksum the data set is lost (exit 2), nothing is returned and nothing rewritten', async () => {
    const victims = [block(0, 0), ...Array.from({ length: m }, (_, r) => block(0, k + r))];
    for (const victim of victims) await forgeBlock(victim.path);
    const forgedBytes = await Promise.all(victims.map((v) => fs.readFile(v.path)));
    const get = await pool.run(['get', 'f.bin', '-o', path.join(scratch.root, 'out.bin')]);
    expectExit(get, 2);
    await expect(fs.stat(path.join(scratch.root, 'out.bin'))).rejects.toThrow();
    expect((await verifyDoc()).files[0].state).toBe('lost');
    expectExit(await pool.run(['check']), 2);
    // Never "repaired" from data that nothing vouches for.
    const after = await Promise.all(victims.map((v) => fs.readFile(v.path)));
    expect(after.every((bytes, i) => bytes.equals(forgedBytes[i]))).toBe(true);
  });
});
