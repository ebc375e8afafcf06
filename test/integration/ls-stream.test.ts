/**
 * `rain ls` streams the catalog (docs/DECISIONS.md D5) through the real CLI: rows in name order
 * (code point order), directories inline, the same names in --json; after a check every store's
 * catalog is the same content-named segments; a damaged line on the first store is read from
 * another store's copy.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { compareCatalogNames } from '../../src/format/catalog-segment.js';
import { makePool, makeScratch, RAIN_BIN, runShell, seededBytes, type Scratch, type TestPool } from '../helpers/rain-cli.js';

let scratch: Scratch;
let pool: TestPool;
const names: string[] = [];

beforeAll(async () => {
  scratch = await makeScratch('rain-ls-stream-');
  pool = await makePool(scratch, 2, 1);
  const src = await scratch.dir('src');
  for (let i = 0; i < 150; i++) {
    // U+FFFD sorts before an emoji by code point, after it in UTF-16: the order must be the former.
    const leaf = `f${i}${i % 40 === 0 ? ' \u{1F600}' : i % 40 === 1 ? ' \uFFFD' : ''}`;
    await fs.mkdir(path.join(src, `d${i % 4}`), { recursive: true });
    await fs.writeFile(path.join(src, `d${i % 4}`, leaf), seededBytes(10 + i, i + 1));
    names.push(`src/d${i % 4}/${leaf}`);
  }
  expect((await pool.run(['put', '-r', src])).code).toBe(0);
  expect((await pool.run(['check'])).code).toBeLessThanOrEqual(1);
}, 120_000);
afterAll(async () => scratch.cleanup());

async function segments(store: string): Promise<string[]> {
  const found: string[] = [];
  for (const bucket of await fs.readdir(path.join(store, 'catalog'))) {
    for (const file of await fs.readdir(path.join(store, 'catalog', bucket))) found.push(`${bucket}/${file}`);
  }
  return found.sort();
}

describe('ls streams the catalog in name order', () => {
  it('lists every name in code point order, directories inline, the same in --json; stores hold the same segment files', async () => {
    const expected = [...names].sort(compareCatalogNames);
    const json = await pool.run(['ls', '--json']);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as { ok: boolean; files: { name: string; sizeBytes: number; health: string }[]; directories: string[] };
    expect(doc.ok).toBe(true);
    expect(doc.files.map((f) => f.name)).toEqual(expected);
    expect(doc.files.every((f) => f.health === 'ok')).toBe(true);
    expect(doc.directories).toEqual(['src', 'src/d0', 'src/d1', 'src/d2', 'src/d3']);

    const human = await pool.run(['ls']);
    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s+size\s+data sets\s+health\s+name$/);
    expect(lines.at(-1)).toBe(`${names.length} files, ${formatTotal()}, 5 directories`);
    const rowNames = lines.slice(1, -1).map((line) => line.replace(/^\s*\S+( \S+)?\s+\d+\s+\S+\s{2,}/, ''));
    expect(rowNames).toEqual(['src/', ...interleave(expected)]);
    expect(human.stdout).not.toMatch(/[─│┌]/);

    const prefixed = JSON.parse((await pool.run(['ls', 'src/d2/', '--json'])).stdout) as { files: { name: string }[] };
    expect(prefixed.files.map((f) => f.name)).toEqual(expected.filter((n) => n.startsWith('src/d2/')));

    // After the check: no plain record files, one segment per bucket, the same files on every store.
    const [first, ...others] = await Promise.all(pool.stores.map(segments));
    expect(first.every((f) => f.endsWith('.seg'))).toBe(true);
    expect(new Set(first.map((f) => f.slice(0, 2))).size).toBe(first.length);
    for (const other of others) expect(other).toEqual(first);
  }, 60_000);

  it('a damaged line in the first store\'s segment: ls still lists every name, from another store\'s copy', async () => {
    const [segment] = await segments(pool.stores[0]);
    const file = path.join(pool.stores[0], 'catalog', segment);
    const text = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, text.replace('"deleted":false', '"deleted":fals3'));
    const json = await pool.run(['ls', '--json', '-p', pool.stores[0]]);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { files: { name: string }[] }).files.map((f) => f.name)).toEqual([...names].sort(compareCatalogNames));
    await fs.writeFile(file, text);
  }, 60_000);
});

/** Directory rows come where their name sorts: `src/dN/` before the files under it. */
function interleave(sortedFiles: readonly string[]): string[] {
  const rows: string[] = [];
  let directory = '';
  for (const name of sortedFiles) {
    const dir = name.slice(0, name.lastIndexOf('/'));
    if (dir !== directory) {
      rows.push(`${dir}/`);
      directory = dir;
    }
    rows.push(name);
  }
  return rows;
}

function formatTotal(): string {
  let total = 0;
  for (let i = 0; i < names.length; i++) total += 10 + i;
  return `${(total / 1024).toFixed(1)} KiB`;
}

describe('ls of a catalog of many segments (several put -r commits, no check since)', () => {
  it('lists every name with fewer open files allowed than there are segments (each reopened per chunk); out of descriptors it stops with exit 74 and says so', async () => {
    const many = await makeScratch('rain-ls-many-');
    try {
      const manyPool = await makePool(many, 2, 1);
      const env = Object.entries(many.env).map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(' ');
      const lsUnderLimit = (openFiles: number) => runShell(
        `ulimit -n ${openFiles} && ${env} ${JSON.stringify(process.execPath)} ${JSON.stringify(RAIN_BIN)} ls --json -p ${JSON.stringify(manyPool.stores[0])}`,
      );
      const expected: string[] = [];
      // Three commits of 1,000 names: about 250 segments each, ~750 per store, content-named alike on all three.
      for (let commit = 0; commit < 3; commit++) {
        const src = await many.dir(`src${commit}`);
        for (let i = 0; i < 1000; i++) {
          await fs.writeFile(path.join(src, `f${i}`), seededBytes(20 + (i % 50), commit * 1000 + i));
          expected.push(`c${commit}/f${i}`);
        }
        expect((await manyPool.run(['put', '-r', src, '--as', `c${commit}`])).code).toBe(0);
        if (commit > 0) continue;
        // ~250 segments, each held open: under a limit of 120 open files the listing stops and says
        // why (exit 74), rather than calling the segments it could not open unreadable and leaving their names out.
        const starved = await lsUnderLimit(120);
        expect(starved.code).toBe(74);
        expect(starved.stderr).toMatch(/too many open files while reading the catalog \(EMFILE\); raise the limit/);
        expect(starved.stderr).not.toMatch(/could not be read/);
      }
      const segmentCount = (await segments(manyPool.stores[0])).filter((f) => f.endsWith('.seg')).length;
      expect(segmentCount).toBeGreaterThan(600);
      // A limit of 300 open files: a listing that held a descriptor per segment failed to open most of them.
      const run = await lsUnderLimit(300);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const doc = JSON.parse(run.stdout) as { files: { name: string; health: string }[] };
      expect(doc.files.map((f) => f.name)).toEqual(expected.sort(compareCatalogNames));
      expect(doc.files.every((f) => f.health === 'ok')).toBe(true);
    } finally {
      await many.cleanup();
    }
  }, 120_000);
});
