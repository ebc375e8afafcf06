/**
 * A tree comes back as it went in (issue 18): modes (setuid as root), mtimes, owners as root,
 * symlinks as links, hard links as one inode, empty directories, names of any bytes; a FIFO is
 * reported, never silently dropped; a restore never writes through a symlink; a trailing slash
 * on -o means a directory.
 */
import fs from 'node:fs/promises';
import fsSync from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { expectExit, stderrLines } from '../helpers/cli-assertions.js';
import { makePool, makeScratch, runShell, seededBytes, type Scratch, type TestPool } from '../helpers/rain-cli.js';

const AS_ROOT = process.getuid?.() === 0;
const bytesPath = (...parts: (string | Buffer)[]): Buffer => Buffer.concat(parts.flatMap((p, i) => [...(i > 0 ? [Buffer.from('/')] : []), Buffer.from(p)]));
const BAD_UTF8 = Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x2e, 0x74, 0x78, 0x74]); // "bad\xff\xfe.txt"
const BAD_DIR = Buffer.from('caf\xe9', 'latin1'); // "café" in latin-1: not UTF-8
const LONG_NAME = 'L'.repeat(255);
/** Four nested 250-byte directories: the directories fit in a 1024-byte name, a file inside does not. */
const DEEP = Array.from({ length: 4 }, (_, i) => `${i}`.repeat(250));
const TOO_LONG_FILE = 'y'.repeat(40);

/** Every kind of entry, with modes, old times and owners, built under `root`. */
async function buildFixture(root: string): Promise<void> {
  const file = async (name: string, bytes: Buffer | string, mode: number, mtime?: Date): Promise<void> => {
    await fs.writeFile(path.join(root, name), bytes);
    await fs.chmod(path.join(root, name), mode);
    if (mtime) await fs.utimes(path.join(root, name), mtime, mtime);
  };
  await fs.mkdir(path.join(root, 'sub', 'deeper'), { recursive: true });
  await fs.mkdir(path.join(root, 'empty'));
  await fs.mkdir(path.join(root, 'private'), { mode: 0o700 });
  await file('key.pem', 'secret\n', 0o600, new Date('2001-02-03T04:05:06Z'));
  await file('run.sh', '#!/bin/sh\necho hi\n', 0o755);
  await file('sub/setuid', seededBytes(300, 1), 0o4755, new Date('1999-12-31T23:59:59Z'));
  await file('sub/deeper/big.bin', seededBytes(40_000, 2), 0o640); // 2+1 with 4 KiB blocks: 5 data sets, not packed
  await file('private/note', 'n', 0o644);
  await file('linked-a', 'one inode, two names\n', 0o644);
  await fs.link(path.join(root, 'linked-a'), path.join(root, 'linked-b'));
  await fs.symlink('key.pem', path.join(root, 'to-file'));
  await fs.symlink('sub', path.join(root, 'to-dir'));
  await fs.symlink('does/not/exist', path.join(root, 'dangling'));
  await fs.symlink('/etc/passwd', path.join(root, 'absolute'));
  await file('new\nline', 'newline', 0o644);
  await file('tab\there', 'tab', 0o644);
  await file('back\\slash', 'backslash', 0o644);
  fsSync.writeFileSync(bytesPath(root, BAD_UTF8), 'not utf-8');
  fsSync.mkdirSync(bytesPath(root, BAD_DIR));
  fsSync.writeFileSync(bytesPath(root, BAD_DIR, 'inside'), 'in a directory named in latin-1');
  await file(LONG_NAME, 'long', 0o644);
  let deep = root;
  for (const component of DEEP) {
    deep = path.join(deep, component);
    await fs.mkdir(deep);
  }
  await fs.writeFile(path.join(deep, TOO_LONG_FILE), 'refused');
  expectExit(await runShell(`mkfifo '${path.join(root, 'fifo')}'`), 0);
  if (AS_ROOT) await fs.chown(path.join(root, 'private', 'note'), 1234, 5678);
  // A sub-second time, and links' own times (lutimes), last: creating entries changes directories' times.
  const fine = 1_234_567_890.123456;
  await fs.utimes(path.join(root, 'run.sh'), fine, fine);
  await fs.lutimes(path.join(root, 'to-file'), new Date('2005-05-05T05:05:05Z'), new Date('2005-05-05T05:05:05Z'));
  await fs.utimes(path.join(root, 'empty'), new Date('2003-03-03T03:03:03Z'), new Date('2003-03-03T03:03:03Z'));
  await fs.utimes(path.join(root, 'sub'), new Date('2004-04-04T04:04:04Z'), new Date('2004-04-04T04:04:04Z'));
  await fs.chmod(path.join(root, 'sub'), 0o750);
}

/**
 * Every entry below `dir` as find prints it: type, mode, mtime (to the microsecond: what Node can
 * set), link target, size, path (and owners as root); raw bytes, one entry per NUL.
 */
async function listing(dir: string, skip: (line: string) => boolean = () => false): Promise<string[]> {
  const owners = AS_ROOT ? ' %U %G' : '';
  const run = await runShell(`cd '${dir}' && find . -mindepth 1 -printf '%y %m %T@ %l %s${owners} %P\\0'`);
  expect(run.code).toBe(0);
  return run.stdoutBytes.toString('latin1').split('\0').filter((line) => line !== '' && !skip(line))
    .map((line) => line.replace(/^(\S+ \S+ \d+\.\d{6})\d*/, '$1'))
    // a directory's size is the file system's business
    .map((line) => (line.startsWith('d ') ? line.replace(/^(d \S+ \S+ \S* )\d+/, '$1-') : line))
    .sort();
}

describe('a tree comes back as it went in', () => {
  let scratch: Scratch;
  let pool: TestPool;
  let source: string;

  beforeAll(async () => {
    scratch = await makeScratch();
    pool = await makePool(scratch, 2, 1, 3, ['--block-size', '4096']);
    source = await scratch.dir('src');
    await buildFixture(source);
  });
  afterAll(async () => {
    await scratch?.cleanup();
  });

  it('put -r then get -r: every entry alike (mode, mtime, link, size, owners as root); the FIFO and a too-long name reported, the rest stored', async () => {
    const put = await pool.run(['put', '-r', source, '--as', 'tree', '--json']);
    expectExit(put, 1);
    const warnings = stderrLines(put);
    expect(warnings).toHaveLength(2);
    expect(warnings).toEqual(expect.arrayContaining([
      expect.stringMatching(/^rain: tree\/fifo: not stored: it is a FIFO/),
      expect.stringMatching(new RegExp(`^rain: tree/${DEEP.join('/')}/${TOO_LONG_FILE}: not stored: the name is longer than 1024 bytes`)),
    ]));
    const doc = JSON.parse(put.stdout) as { files: { name: string; kind?: string }[]; directories: number };
    const names = doc.files.map((f) => f.name);
    // Names in catalog form: C-style escapes for control bytes, backslashes and bytes that are not UTF-8.
    expect(names).toEqual(expect.arrayContaining(['tree/new\\nline', 'tree/tab\\there', 'tree/back\\\\slash', 'tree/bad\\xff\\xfe.txt', `tree/${LONG_NAME}`]));
    expect(doc.files.filter((f) => f.kind === 'symlink').map((f) => f.name).sort()).toEqual(['tree/absolute', 'tree/dangling', 'tree/to-dir', 'tree/to-file']);
    expect(doc.directories).toBe(6 + DEEP.length); // tree itself, sub, sub/deeper, empty, private, caf\xe9, and the deep ones

    const ls = await pool.run(['ls', 'tree/', '--json']);
    const listed = JSON.parse(ls.stdout) as { files: { name: string; kind?: string; target?: string }[]; directories: string[] };
    expect(listed.files.find((f) => f.name === 'tree/absolute')).toMatchObject({ kind: 'symlink', target: '/etc/passwd' });
    expect(listed.directories).toEqual(expect.arrayContaining(['tree/empty', 'tree/sub/deeper']));

    const out = path.join(scratch.root, 'out');
    const get = await pool.run(['get', '-r', 'tree', '-o', out]);
    expectExit(get, 0);
    const expected = (await listing(source, (line) => line.startsWith('p ') || line.endsWith(TOO_LONG_FILE)))
      // only root may hand out setuid files
      .map((line) => (AS_ROOT ? line : line.replace(/^f 4755 /, 'f 755 ')));
    expect(await listing(path.join(out, 'tree'))).toEqual(expected);
    const a = await fs.stat(path.join(out, 'tree', 'linked-a'));
    const b = await fs.stat(path.join(out, 'tree', 'linked-b'));
    expect([a.ino, a.nlink]).toEqual([b.ino, 2]);
    expect(fsSync.readFileSync(bytesPath(out, 'tree', BAD_UTF8), 'utf8')).toBe('not utf-8');
    expect(names).toContain('tree/caf\\xe9/inside');
  }, 60_000);

  it('sync after a chmod: a new version with the new mode, its bytes not written again', async () => {
    await fs.chmod(path.join(source, 'key.pem'), 0o400);
    const sync = await pool.run(['sync', source, '--as', 'tree', '--json']);
    expectExit(sync, 1); // the FIFO and the too-long name, reported again
    const report = JSON.parse(sync.stdout) as { updated: string[]; added: string[]; bytesWritten: number; datasetsRewritten: number };
    expect(report.updated).toEqual(['tree/key.pem']);
    expect(report.added).toEqual([]);
    expect([report.bytesWritten, report.datasetsRewritten]).toEqual([0, 0]);
    const out = path.join(scratch.root, 'one');
    // A trailing slash: a directory, made when missing; the file goes inside under its own name.
    expectExit(await pool.run(['get', 'tree/key.pem', '-o', `${out}/`]), 0);
    const got = await fs.stat(path.join(out, 'key.pem'));
    expect([got.mode & 0o7777, got.mtime.toISOString()]).toEqual([0o400, '2001-02-03T04:05:06.000Z']);
    expect(await fs.readFile(path.join(out, 'key.pem'), 'utf8')).toBe('secret\n');
  }, 60_000);
});

describe('a restore never writes outside its destination', () => {
  let scratch: Scratch;
  let pool: TestPool;

  beforeAll(async () => {
    scratch = await makeScratch();
    pool = await makePool(scratch, 2, 1, 3, ['--block-size', '4096']);
  });
  afterAll(async () => {
    await scratch?.cleanup();
  });

  it('a stored link a -> OUTSIDE and a stored a/x: refused before anything is written', async () => {
    const outside = await scratch.dir('outside');
    const src = await scratch.dir('esc');
    await fs.symlink(outside, path.join(src, 'a'));
    expectExit(await pool.run(['put', '-r', src, '--as', 'esc']), 0);
    const x = path.join(scratch.root, 'x.txt');
    await fs.writeFile(x, 'would escape');
    expectExit(await pool.run(['put', x, '--as', 'esc/a/x']), 0);
    const dest = path.join(scratch.root, 'dest');
    const get = await pool.run(['get', '-r', 'esc', '-o', dest]);
    expectExit(get, 64);
    expect(stderrLines(get)).toEqual([expect.stringMatching(/esc\/a is both a symlink and a directory of other names/)]);
    expect(await fs.readdir(outside)).toEqual([]);
  }, 60_000);

  it('a symlink already in the destination is not gone through: that file refused (exit 1), the others written', async () => {
    const outside = await scratch.dir('outside2');
    const x = path.join(scratch.root, 'y.txt');
    await fs.writeFile(x, 'would escape');
    expectExit(await pool.run(['put', x, '--as', 'm/a/x']), 0);
    expectExit(await pool.run(['put', x, '--as', 'm/b']), 0);
    const dest = await scratch.dir('dest2');
    await fs.mkdir(path.join(dest, 'm'));
    await fs.symlink(outside, path.join(dest, 'm', 'a'));
    const get = await pool.run(['get', '-r', 'm', '-o', dest]);
    expectExit(get, 1);
    expect(stderrLines(get)).toEqual([expect.stringMatching(/^rain: m\/a\/x: not written: .*\/m\/a is a symbolic link in the destination; rain does not write through it$/)]);
    expect(await fs.readdir(outside)).toEqual([]);
    expect(await fs.readFile(path.join(dest, 'm', 'b'), 'utf8')).toBe('would escape');
  }, 60_000);
});
