/**
 * --exclude and --exclude-from for put -r and sync (issue 18): the entries they match are not
 * stored, sync --delete keeps excluded names already in the pool, and a bad pattern or a missing
 * pattern file is a usage error. (The pattern rules themselves: test/unit/exclude-patterns.test.ts.)
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { expectExit, expectOneErrorLine } from '../helpers/cli-assertions.js';
import { makePool, makeScratch, type Scratch, type TestPool } from '../helpers/rain-cli.js';

describe('--exclude and --exclude-from', () => {
  let scratch: Scratch;
  let pool: TestPool;
  let tree: string;
  let patternFile: string;

  beforeAll(async () => {
    scratch = await makeScratch('rain-exclude-');
    pool = await makePool(scratch, 2, 1);
    tree = await scratch.dir('t');
    for (const dir of ['cache/deep', 'sub/logs', 'docs']) await fs.mkdir(path.join(tree, dir), { recursive: true });
    const files = ['a.txt', 'b.tmp', 'keep.tmp', 'gone.txt', 'cache/c.bin', 'cache/deep/d.bin', 'sub/s.txt', 'sub/x.log', 'sub/logs/y.txt', 'docs/readme'];
    for (const file of files) await fs.writeFile(path.join(tree, file), file);
    patternFile = path.join(scratch.root, 'excludes');
    await fs.writeFile(patternFile, '# build output\n*.log\n\n/sub/logs/\n');
  });
  afterAll(async () => {
    await scratch.cleanup();
  });

  it('put -r stores what the patterns leave; sync --delete deletes a removed file and keeps excluded ones', async () => {
    const put = await pool.run(['put', '-r', tree, '--json', '--exclude', '*.tmp', '--exclude', 'cache/', '--exclude', '!keep.tmp', '--exclude-from', patternFile]);
    expectExit(put, 0);
    // b.tmp, cache (once: it is not read), sub/x.log, sub/logs.
    expect(JSON.parse(put.stdout)).toMatchObject({ ok: true, excluded: 4 });

    // docs/ was stored; excluded now, sync --delete must keep it (rsync without --delete-excluded).
    await fs.rm(path.join(tree, 'gone.txt'));
    const sync = await pool.run(['sync', tree, '--delete', '--json', '--exclude', '*.tmp', '--exclude', 'cache/', '--exclude', '!keep.tmp', '--exclude-from', patternFile, '--exclude', 'docs/']);
    expectExit(sync, 0);
    expect(JSON.parse(sync.stdout)).toMatchObject({ ok: true, added: [], deleted: ['t/gone.txt'], excluded: 5 });

    const ls = await pool.run(['ls', '--json']);
    expectExit(ls, 0);
    const listed = JSON.parse(ls.stdout) as { files: { name: string }[]; directories: string[] };
    expect(listed.files.map((f) => f.name).sort()).toEqual(['t/a.txt', 't/docs/readme', 't/keep.tmp', 't/sub/s.txt']);
    expect([...listed.directories].sort()).toEqual(['t', 't/docs', 't/sub']);
  });

  it('a bad pattern and a missing pattern file are usage errors (exit 64, one line naming them)', async () => {
    expectOneErrorLine(await pool.run(['put', '-r', tree, '--exclude', 'ok', '--exclude', 'data[0-9']), 64, /bad exclude pattern 'data\[0-9'/);
    expectOneErrorLine(await pool.run(['sync', tree, '--exclude-from', path.join(scratch.root, 'no-such-file')]), 64, /--exclude-from .*no-such-file: no such file/);
  });
});
