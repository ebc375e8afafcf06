import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { expectExit } from '../helpers/cli-assertions.js';
import { makeScratch, rain, REPO_ROOT, type Scratch } from '../helpers/rain-cli.js';

/**
 * A pool written by an earlier rain (fixtures/pool-v1, format version 1) is read back byte for
 * byte by this one. Its manifest names its stores at /tmp/rain-fixture-v1/s0..s2, so the pinned
 * files are copied there. A format change that strands old pools fails here.
 */
const FIXTURE = path.join(REPO_ROOT, 'fixtures', 'pool-v1');
const PLACE = '/tmp/rain-fixture-v1';

interface Expected {
  deleted: string[];
  files: Record<string, { sizeBytes: number; sha256: string }>;
}

describe('a pool of format version 1 (fixtures/pool-v1)', () => {
  let scratch: Scratch;
  let expected: Expected;
  const run = (args: string[]) => rain([...args, '-p', path.join(PLACE, 's0')], { env: scratch.env });

  beforeAll(async () => {
    scratch = await makeScratch('rain-old-pool-');
    expected = JSON.parse(await fs.readFile(path.join(FIXTURE, 'expected.json'), 'utf8')) as Expected;
    await fs.rm(PLACE, { recursive: true, force: true });
    for (const store of ['s0', 's1', 's2']) await fs.cp(path.join(FIXTURE, store), path.join(PLACE, store), { recursive: true });
  });
  afterAll(async () => {
    await fs.rm(PLACE, { recursive: true, force: true });
    await scratch.cleanup();
  });

  it('lists exactly its files, and the deleted one stays deleted', async () => {
    const ls = await run(['ls', '--json']);
    expectExit(ls, 0);
    const names = (JSON.parse(ls.stdout) as { files: { name: string }[] }).files.map((f) => f.name).sort();
    expect(names).toEqual(Object.keys(expected.files).sort());
    for (const gone of expected.deleted) expect((await run(['get', gone])).code).toBe(64);
  });

  /** Writes 100 small files under a fresh directory and puts them with -r as `prefix/` (some share a catalog bucket). */
  const putTree = async (prefix: string): Promise<void> => {
    const dir = await scratch.dir(prefix);
    for (let i = 0; i < 100; i++) await fs.writeFile(path.join(dir, `f${i}`), `${prefix} file ${i}\n`);
    expectExit(await run(['put', '-r', dir, '--as', prefix]), 0);
  };
  const storeFiles = async (): Promise<string[]> => {
    const found: string[] = [];
    for (const store of ['s0', 's1', 's2']) {
      for (const entry of await fs.readdir(path.join(PLACE, store), { recursive: true })) found.push(path.join(store, entry));
    }
    return found;
  };
  const manifests = (): Promise<string[]> => Promise.all(['s0', 's1', 's2'].map((s) => fs.readFile(path.join(PLACE, s, 'rain-pool.json'), 'utf8')));

  it('before a check converts it, a put -r writes plain record files only, so an older rain still reads everything', async () => {
    await putTree('before');
    expect((await storeFiles()).filter((f) => f.endsWith('.seg'))).toEqual([]);
    for (const manifest of await manifests()) expect(manifest).toContain('"format":"rain-pool/1"');
  });

  it('reads every file back byte for byte, verifies clean, and checks clean', async () => {
    const readAll = async (): Promise<void> => {
      for (const [name, want] of Object.entries(expected.files)) {
        const get = await run(['get', name]);
        expect({ name, code: get.code, size: get.stdoutBytes.length, sha256: createHash('sha256').update(get.stdoutBytes).digest('hex') })
          .toEqual({ name, code: 0, size: want.sizeBytes, sha256: want.sha256 });
      }
    };
    await readAll();
    expectExit(await run(['verify']), 0);
    expectExit(await run(['check']), 0);
    await readAll();
  });

  it('the check converted it to rain-pool/3: commits then write catalog segments, and every file still reads', async () => {
    // An older rain rejects this format string instead of missing the records in segments.
    for (const manifest of await manifests()) expect(manifest).toContain('"format":"rain-pool/3"');
    await putTree('after');
    expect((await storeFiles()).filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(0);
    const ls = await run(['ls', '--json']);
    const names = (JSON.parse(ls.stdout) as { files: { name: string }[] }).files.map((f) => f.name);
    expect(names.filter((n) => n.startsWith('before/') || n.startsWith('after/'))).toHaveLength(200);
    for (const name of [...Object.keys(expected.files), 'before/f7', 'after/f99']) expect((await run(['get', name])).code).toBe(0);
    expect((await run(['get', 'after/f99'])).stdout).toBe('after file 99\n');
    expectExit(await run(['verify']), 0);
  });
});
