import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { snapshotScratch, type ScratchSnapshot } from '../helpers/pool-snapshot.js';
import { listBlockFiles, makePool, makeScratch, rain, seededBytes, type Scratch, type TestPool } from '../helpers/rain-cli.js';

interface VerifyDoc {
  verdict: string;
  files: { name: string; state: string; blocks: Record<string, number>; repairedBlocks: number }[];
  storeProblems: string[];
}

describe('verify and rebuild', () => {
  let scratch: Scratch;
  let pool: TestPool;
  const files = new Map<string, Buffer>();
  let fresh: ScratchSnapshot;

  // One pool built once; every test starts from a copy of it as it stood after the three puts.
  beforeAll(async () => {
    scratch = await makeScratch();
    pool = await makePool(scratch, 3, 2, 5, ['--block-size', '8K']);
    files.clear();
    for (const [name, size] of [['one.bin', 100_000], ['two.bin', 24_577], ['three.bin', 7]] as const) {
      const content = seededBytes(size, size);
      files.set(name, content);
      await fs.writeFile(path.join(scratch.root, name), content);
      expect((await pool.run(['put', path.join(scratch.root, name)])).code).toBe(0);
    }
    fresh = await snapshotScratch(scratch);
  });
  beforeEach(async () => fresh.restore());
  afterAll(async () => scratch?.cleanup());

  async function verifyDoc(): Promise<{ code: number | null; doc: VerifyDoc }> {
    const run = await pool.run(['verify', '--json']);
    return { code: run.code, doc: JSON.parse(run.stdout) as VerifyDoc };
  }

  let readBacks = 0;
  /** Every file reads back byte for byte (one get -r of the whole pool, not a get per file). */
  async function expectAllReadBack(): Promise<void> {
    const out = path.join(scratch.root, `read-back-${readBacks++}`);
    await pool.run(['get', '-r', '.', '-o', out]);
    for (const [name, content] of files) {
      expect({ name, same: (await fs.readFile(path.join(out, name))).equals(content) }).toEqual({ name, same: true });
    }
    await fs.rm(out, { recursive: true });
  }

  it('a fresh pool verifies healthy with exit 0', async () => {
    const { code, doc } = await verifyDoc();
    expect(code).toBe(0);
    expect(doc.verdict).toBe('healthy');
    expect(doc.files.every((f) => f.state === 'healthy')).toBe(true);
  });

  it('classifies missing, corrupt and stale blocks, exits 1, and rebuild makes it healthy', async () => {
    const blocks = await listBlockFiles(pool.stores[1]);
    expect(blocks.length).toBeGreaterThan(3);
    await fs.rm(blocks[0]);                                   // missing
    const garbage = await fs.readFile(blocks[1]);
    await fs.writeFile(blocks[1], seededBytes(garbage.length, 77)); // corrupt (garbage, same length)
    const truncated = await fs.readFile(blocks[2]);
    await fs.writeFile(blocks[2], truncated.subarray(0, truncated.length >> 1)); // corrupt (truncated)
    // stale: the block exists only at an older sequence number
    const [d, b, seq] = path.basename(blocks[3]).split('.');
    await fs.rename(blocks[3], path.join(path.dirname(blocks[3]), `${d}.${b}.${BigInt(seq) - 1n}.blk`));

    const before = await verifyDoc();
    expect(before.code).toBe(1);
    expect(before.doc.verdict).toBe('degraded');
    const totals = before.doc.files.reduce((t, f) => {
      for (const key of Object.keys(f.blocks)) t[key] = (t[key] ?? 0) + f.blocks[key];
      return t;
    }, {} as Record<string, number>);
    expect(totals).toMatchObject({ missing: 1, corrupt: 2, stale: 1 });
    await expectAllReadBack();

    const rebuild = await pool.run(['rebuild', '--json']);
    expect(rebuild.code).toBe(1); // problems were found and repaired
    const rebuilt = JSON.parse(rebuild.stdout) as VerifyDoc;
    expect(rebuilt.files.reduce((s, f) => s + f.repairedBlocks, 0)).toBe(4);
    const after = await verifyDoc();
    expect(after.code).toBe(0);
    // The stale block's old file is collected, so each store holds exactly one file per block.
    expect((await listBlockFiles(pool.stores[1])).length).toBe(blocks.length);
    await expectAllReadBack();
    expect((await pool.run(['rebuild'])).code).toBe(0); // nothing left to do
  });

  it('a parity block that disagrees with the data is found and rewritten', async () => {
    // Rewrite a parity block with a valid header and checksum but wrong parity: only recomputation finds it.
    let target: string | undefined;
    for (const store of pool.stores) {
      for (const file of await listBlockFiles(store)) {
        const [, b] = path.basename(file).split('.');
        if (Number(b) >= 3) { target = file; break; }
      }
      if (target) break;
    }
    expect(target).toBeDefined();
    const bytes = await fs.readFile(target as string);
    const headerLength = bytes.readUInt16LE(10);
    const payload = bytes.subarray(headerLength);
    payload[0] ^= 0xff;
    const { crc32 } = await import('node:zlib');
    bytes.writeUInt32LE(crc32(payload) >>> 0, 84);
    bytes.writeUInt32LE(crc32(bytes.subarray(0, headerLength - 4)) >>> 0, headerLength - 4);
    await fs.writeFile(target as string, bytes);
    const before = await verifyDoc();
    expect(before.code).toBe(1);
    expect(before.doc.files.some((f) => f.blocks.corrupt === 1)).toBe(true);
    expect((await pool.run(['rebuild'])).code).toBe(1);
    expect((await verifyDoc()).code).toBe(0);
  });

  it('an emptied store directory is refilled by rebuild', async () => {
    const victim = pool.stores[2];
    const blockCount = (await listBlockFiles(victim)).length;
    await fs.rm(victim, { recursive: true });
    await fs.mkdir(victim);
    const before = await verifyDoc();
    expect(before.code).toBe(1);
    expect(before.doc.storeProblems.join('\n')).toContain('empty');
    await expectAllReadBack();
    const rebuild = await pool.run(['rebuild']);
    expect(rebuild.code).toBe(1);
    expect((await listBlockFiles(victim)).length).toBe(blockCount);
    expect((await verifyDoc()).code).toBe(0);
  });

  it('--replace moves a lost store to a new directory', async () => {
    await fs.rm(pool.stores[4], { recursive: true });
    const fresh = await scratch.dir('new-disk');
    const rebuild = await pool.run(['rebuild', '--replace', `${pool.stores[4]}=${fresh}`]);
    expect(rebuild.code).toBe(1);
    expect((await listBlockFiles(fresh)).length).toBeGreaterThan(0);
    const status = await pool.run(['status', '--json']);
    expect(status.code).toBe(0);
    const doc = JSON.parse(status.stdout) as { epoch: number; stores: { path: string; condition: string }[] };
    expect(doc.epoch).toBe(2);
    expect(doc.stores.map((s) => s.path)).toContain(fresh);
    expect(doc.stores.every((s) => s.condition === 'online')).toBe(true);
    expect((await verifyDoc()).code).toBe(0);
    await expectAllReadBack();
  });

  it('more than m stores lost: verify exits 2 and names the lost files', async () => {
    await fs.rm(pool.stores[0], { recursive: true });
    await fs.rm(pool.stores[1], { recursive: true });
    await fs.rm(pool.stores[2], { recursive: true });
    const run = await rain(['verify', '--json', '-p', pool.stores[3]], { env: scratch.env });
    expect(run.code).toBe(2);
    const doc = JSON.parse(run.stdout) as VerifyDoc;
    expect(doc.verdict).toBe('lost');
    expect(doc.files.some((f) => f.state === 'lost')).toBe(true);
  });

  it('check collects an older copy of a complete data set and calls a block at an older sequence stale', async () => {
    const blocksOf = async (store: string, name: string) => {
      const found: string[] = [];
      for (const block of await listBlockFiles(store)) if ((await fs.readFile(block)).includes(name)) found.push(block);
      return found;
    };
    const olderName = (block: string) => {
      const [d, b, seq] = path.basename(block).split('.');
      return path.join(path.dirname(block), `${d}.${b}.${BigInt(seq) - 1n}.blk`);
    };
    // three.bin: every block good, plus a leftover copy at an older sequence on store 0 (garbage).
    const [leftover] = await blocksOf(pool.stores[0], 'three.bin');
    await fs.copyFile(leftover, olderName(leftover));
    // two.bin: one block on store 1 only at an older sequence (stale).
    const [stale] = await blocksOf(pool.stores[1], 'two.bin');
    await fs.rename(stale, olderName(stale));

    const check = await pool.run(['check', '--json']);
    expect(check.code).toBe(1);
    const doc = JSON.parse(check.stdout) as VerifyDoc;
    expect(doc.files.find((f) => f.name === 'two.bin')).toMatchObject({ blocks: { stale: 1 }, repairedBlocks: 1 });
    expect(doc.files.find((f) => f.name === 'three.bin')).toMatchObject({ state: 'healthy', repairedBlocks: 0 });
    await expect(fs.access(olderName(leftover))).rejects.toThrow();
    await expect(fs.access(olderName(stale))).rejects.toThrow();
    await expect(fs.access(leftover)).resolves.toBeUndefined();
    expect((await verifyDoc()).code).toBe(0);
    await expectAllReadBack();
  });

  it('verify NAME checks only that file', async () => {
    const blocks = await listBlockFiles(pool.stores[0]);
    await fs.rm(blocks[0]);
    const run = await pool.run(['verify', 'three.bin', '--json']);
    const doc = JSON.parse(run.stdout) as VerifyDoc;
    expect(doc.files.map((f) => f.name)).toEqual(['three.bin']);
  });
});

describe('reports of many troubled files', () => {
  let scratch: Scratch;
  afterEach(async () => scratch.cleanup());

  it('list the worst files first, up to a limit, and count the rest; --json lists them all', async () => {
    scratch = await makeScratch();
    const pool = await makePool(scratch, 2, 1, 3, ['--block-size', '4K']);
    const tree = await scratch.dir('tree');
    const degradedCount = 130;
    for (let i = 0; i < degradedCount; i++) await fs.writeFile(path.join(tree, `a${String(i).padStart(3, '0')}.bin`), seededBytes(100, i + 1));
    await fs.writeFile(path.join(tree, 'zz-lost.bin'), seededBytes(20_000, 999));
    expect((await pool.run(['put', '-r', tree])).code).toBe(0);

    // Store 1 loses everything; zz-lost.bin (last by name) also loses its blocks on store 2.
    for (const block of await listBlockFiles(pool.stores[1])) await fs.rm(block);
    for (const block of await listBlockFiles(pool.stores[2])) {
      if ((await fs.readFile(block)).includes('zz-lost.bin')) await fs.rm(block);
    }

    const tableRows = (stdout: string) => stdout.split('\n').filter((line) => /\.bin\s.*\b(lost|degraded|healthy)\b/.test(line));
    const verify = await pool.run(['verify']);
    expect(verify.code).toBe(2);
    const rows = tableRows(verify.stdout);
    expect(rows).toHaveLength(10);
    expect(rows[0]).toMatch(/zz-lost\.bin\s.*\blost\b/);
    expect(rows.slice(1).every((row) => /\bdegraded\b/.test(row))).toBe(true);
    expect(verify.stdout).toContain(`... and ${degradedCount + 1 - 10} more troubled files (0 lost, ${degradedCount + 1 - 10} degraded, 0 repaired); --verbose or --json lists every file`);
    // --verbose lists every troubled file, the lost one first.
    const verbose = tableRows((await pool.run(['verify', '--verbose'])).stdout);
    expect(verbose).toHaveLength(degradedCount + 1);
    expect(verbose[0]).toMatch(/zz-lost\.bin\s.*\blost\b/);
    expect(verbose.slice(1).every((row) => /\bdegraded\b/.test(row))).toBe(true);

    const json = JSON.parse((await pool.run(['verify', '--json'])).stdout) as VerifyDoc;
    expect(json.files.filter((f) => f.state === 'degraded')).toHaveLength(degradedCount);
    expect(json.files.filter((f) => f.state === 'lost').map((f) => f.name)).toEqual(['tree/zz-lost.bin']);

    const rebuild = await pool.run(['rebuild']);
    expect(rebuild.code).toBe(2);
    const rebuilt = tableRows(rebuild.stdout);
    expect(rebuilt).toHaveLength(10);
    expect(rebuilt[0]).toMatch(/zz-lost\.bin\s.*\blost\b/);
    expect(rebuild.stdout).toContain(`... and ${degradedCount + 1 - 10} more troubled files (0 lost, 0 degraded, ${degradedCount + 1 - 10} repaired); --verbose or --json lists every file`);
  });
});
