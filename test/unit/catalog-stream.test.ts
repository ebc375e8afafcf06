import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { encodeCatalogRecord, type CatalogRecord } from '../../src/format/catalog-record.js';
import { compareCatalogNames } from '../../src/format/catalog-segment.js';
import { crc32OfText } from '../../src/format/checksum.js';
import { newId } from '../../src/format/ids.js';
import { sealJson } from '../../src/format/sealed-json.js';
import { readNewestRecords } from '../../src/ops/catalog.js';
import { chunkBytesFor, MAX_OPEN_SEGMENTS, openSegmentsAllowed, streamNewestRecords } from '../../src/ops/catalog-stream.js';
import { openDescriptorLimit } from '../../src/store/descriptor-limit.js';
import { compactCatalog } from '../../src/store/catalog-compaction.js';
import { scanCatalog, writeCatalogRecord, writeCatalogRecords } from '../../src/store/catalog-files.js';
import { DirectorySync } from '../../src/store/durable-file.js';
import { nameHash } from '../../src/store/store-layout.js';

/**
 * The streaming catalog reader (docs/DECISIONS.md D5) against the whole-catalog truth: every name's
 * newest record across stores, in name order, from sorted segments, plain files, an older rain's
 * unordered segment, and around a damaged line; and the check's merge that makes stores' catalogs
 * the same content-named files.
 */
let root: string;
let stores: string[];

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'rain-stream-'));
  stores = [path.join(root, 's0'), path.join(root, 's1'), path.join(root, 's2')];
  for (const store of stores) await fs.mkdir(path.join(store, 'tmp'), { recursive: true });
});
afterEach(async () => fs.rm(root, { recursive: true, force: true }));

function record(name: string, sequence: bigint, overrides: Partial<CatalogRecord> = {}): CatalogRecord {
  return {
    name, fileId: newId(), sequence, deleted: false, fileSizeBytes: 10, k: 2, m: 1, blockSizeBytes: 4096,
    datasetCount: 1, writtenAt: '2026-12-03T00:00:00.000Z', datasetChecksums: [], ...overrides,
  };
}

async function writeAll(storeList: readonly string[], records: readonly CatalogRecord[]): Promise<void> {
  for (const store of storeList) {
    const sync = new DirectorySync();
    await writeCatalogRecords(store, records, sync);
    await sync.flush();
  }
}

async function segmentsOf(store: string): Promise<string[]> {
  const found: string[] = [];
  for (const bucket of await fs.readdir(path.join(store, 'catalog'))) {
    for (const file of await fs.readdir(path.join(store, 'catalog', bucket))) if (file.endsWith('.seg')) found.push(path.join(bucket, file));
  }
  return found.sort();
}

function streamed(storeList: readonly string[] = stores): CatalogRecord[] {
  const stream = streamNewestRecords(storeList);
  if (!stream) throw new Error('the catalog was not streamed');
  return [...stream.records];
}

const names = Array.from({ length: 400 }, (_, i) => `dir${i % 5}/file ${i}${i % 50 === 0 ? ' \u{1F600}' : i % 50 === 1 ? ' \uFFFD' : ''}`);

describe('streaming the catalog in name order', () => {
  it('merges sorted segments, plain files and stores that are behind into each name\'s newest record, in code point order', async () => {
    const first = names.map((name, i) => record(name, 1000n + BigInt(i)));
    await writeAll(stores, first);
    // Newer versions on some stores only: a second commit on s1 and s2, single puts (plain files) on s2, a delete.
    const second = names.filter((_, i) => i % 3 === 0).map((name, i) => record(name, 5000n + BigInt(i)));
    await writeAll(stores.slice(1), second);
    const single = record(names[7], 9000n);
    await writeCatalogRecord(stores[2], single);
    const tombstone = { ...first[8], sequence: 9001n, deleted: true };
    await writeCatalogRecord(stores[0], tombstone);
    const added = record('zz/only on s0', 9002n);
    await writeCatalogRecord(stores[0], added);

    const expected = new Map(first.map((r) => [r.name, r]));
    for (const r of [...second, single, tombstone, added]) expected.set(r.name, r);
    const got = streamed();
    expect(got.map((r) => r.name)).toEqual([...expected.keys()].sort(compareCatalogNames));
    for (const r of got) expect(r).toEqual(expected.get(r.name));
    // Content-named: the first commit's segments are the same files on every store.
    const [a, b, c] = await Promise.all(stores.map(segmentsOf));
    expect(a.every((segment) => b.includes(segment) && c.includes(segment))).toBe(true);
    for (const segment of a) {
      const bytes = await fs.readFile(path.join(stores[0], 'catalog', segment));
      expect(path.basename(segment, '.seg')).toBe(createHash('sha256').update(bytes).digest('hex').slice(0, 32));
    }
  });

  it('a damaged line on the first store is read from another store\'s copy; an older rain\'s unordered segment is read whole', async () => {
    const records = names.map((name, i) => record(name, 1000n + BigInt(i)));
    await writeAll(stores, records);
    const [segment] = await segmentsOf(stores[0]);
    const file = path.join(stores[0], 'catalog', segment);
    const lines = (await fs.readFile(file, 'utf8')).split('\n');
    lines[2] = lines[2].replace('"deleted":false', '"deleted":fals3');
    await fs.writeFile(file, lines.join('\n'));
    // An older rain's segment: random id, no order member, records in any order.
    const bucket = nameHash('old/one').slice(0, 2);
    const old = [record('old/one', 50n)];
    for (let i = 0; old.length < 3; i++) if (nameHash(`old/${i}`).startsWith(bucket)) old.push(record(`old/${i}`, 60n + BigInt(i)));
    old.reverse();
    const text = sealJson({ format: 'rain-catalog-segment/1', bucket, records: old.length }) + old.map(encodeCatalogRecord).join('');
    await fs.writeFile(path.join(stores[1], 'catalog', bucket, `${newId()}.seg`), text);

    const stream = streamNewestRecords(stores);
    if (!stream) throw new Error('not streamed');
    const got = [...stream.records];
    expect(got.map((r) => r.name)).toEqual([...names, ...old.map((r) => r.name)].sort(compareCatalogNames));
    expect(stream.unreadable).toEqual([`${file} (damaged line)`]);
    // Damaged on every store: the name is missing from the stream, and the damage is reported.
    for (const store of stores.slice(1)) await fs.writeFile(path.join(store, 'catalog', segment), lines.join('\n'));
    const again = streamNewestRecords(stores);
    expect([...(again?.records ?? [])]).toHaveLength(names.length + old.length - 1);
    expect(again?.unreadable).toHaveLength(3);
  });

  it('a line sealed with a good checksum that is no record of its name is damage when the merge takes it: its name comes from another copy, in order', async () => {
    const records = names.map((name, i) => record(name, 1000n + BigInt(i)));
    await writeAll(stores, records);
    const sizes = await Promise.all((await segmentsOf(stores[0])).map(async (segment) => ({ segment, lines: (await fs.readFile(path.join(stores[0], 'catalog', segment), 'utf8')).trimEnd().split('\n') })));
    const { segment, lines } = sizes.sort((a, b) => b.lines.length - a.lines.length)[0];
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const bodyOf = (line: string): string => line.slice(line.indexOf(',"body":') + ',"body":'.length, -1);
    const reseal = (body: string): string => `{"crc32":${crc32OfText(body)},"body":${body}}`;
    // The first record: a file id that is not one. The third: a second "name" member, which JSON.parse takes over the first.
    lines[1] = reseal(bodyOf(lines[1]).replace(/"fileId":"[0-9a-f]+"/, '"fileId":"nope"'));
    lines[3] = reseal(`${bodyOf(lines[3]).slice(0, -1)},"name":"${names[0]}"}`);
    const file = path.join(stores[0], 'catalog', segment);
    await fs.writeFile(file, `${lines.join('\n')}\n`);

    const stream = streamNewestRecords(stores);
    if (!stream) throw new Error('not streamed');
    const got = [...stream.records];
    expect(got.map((r) => r.name)).toEqual([...names].sort(compareCatalogNames));
    const original = new Map(records.map((r) => [r.name, r]));
    for (const r of got) expect(r).toEqual(original.get(r.name));
    expect(stream.unreadable).toEqual([`${file} (damaged line)`, `${file} (damaged line)`]);
  });

  it('a check\'s merge folds plain files into one ordered segment per bucket, byte-identical across stores; past the segment limit the caller reads whole', async () => {
    const records = names.map((name, i) => record(name, 1000n + BigInt(i)));
    await writeAll(stores, records.slice(0, 200));
    await writeAll(stores, records.slice(200));
    const replaced = record(names[3], 7000n);
    for (const store of stores) await writeCatalogRecord(store, replaced);
    expect(streamNewestRecords(stores, { maxSegments: 10 })).toBeUndefined();
    const before = streamed();
    for (const store of stores) {
      const sync = new DirectorySync();
      await compactCatalog(store, undefined, [], sync);
    }
    const [a, b, c] = await Promise.all(stores.map(segmentsOf));
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(new Set(a.map((s) => path.dirname(s))).size).toBe(a.length);
    for (const store of stores) {
      for (const bucket of await fs.readdir(path.join(store, 'catalog'))) {
        expect((await fs.readdir(path.join(store, 'catalog', bucket))).filter((f) => f.endsWith('.json'))).toEqual([]);
      }
    }
    expect(streamed()).toEqual(before);
    expect(before.find((r) => r.name === names[3])?.sequence).toBe(7000n);
  });

  it('a newest-records read takes each content-named segment from the first store that reads it whole; a damaged copy sends it to the next', async () => {
    const records = names.map((name, i) => record(name, 1000n + BigInt(i)));
    await writeAll(stores, records);
    const first = await scanCatalog(stores[0]);
    expect(first.cleanSegments?.length).toBeGreaterThan(100);
    // Told what store 0 read cleanly, store 1 reads none of its segments again: only its plain
    // record files (a bucket that got one record in the commit), in buckets with no segment.
    const second = await scanCatalog(stores[1], undefined, undefined, new Set(first.cleanSegments));
    expect(second.cleanSegments).toEqual([]);
    const segmentBuckets = new Set((first.cleanSegments ?? []).map((s) => s.slice(0, 2)));
    expect(second.records.length).toBeLessThan(first.records.length / 2);
    for (const r of second.records) expect(segmentBuckets.has(nameHash(r.name).slice(0, 2))).toBe(false);
    const [segment] = await segmentsOf(stores[0]);
    const file = path.join(stores[0], 'catalog', segment);
    await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace('"deleted":false', '"deleted":fals3'));
    const view = await readNewestRecords(stores);
    expect([...view.records.keys()].sort(compareCatalogNames)).toEqual([...names].sort(compareCatalogNames));
    expect(view.unreadableFiles).toEqual([`${file} (1 damaged lines)`]);
  });

  it('past the open-descriptor limit each run opens its file again per chunk, and a check merging every bucket mid-listing loses no name', async () => {
    // 20,000 names in two commits and newer versions of a fifth on two stores: 2-3 segments per
    // bucket, each many chunks long, so runs really reopen (and find their files gone after the merge).
    const many = Array.from({ length: 20_000 }, (_, i) => `tree/d${i % 97}/f${i}`);
    const records = many.map((name, i) => record(name, 1000n + BigInt(i)));
    await writeAll(stores, records.slice(0, 10_000));
    await writeAll(stores, records.slice(10_000));
    const newer = many.filter((_, i) => i % 5 === 0).map((name, i) => record(name, 50_000n + BigInt(i)));
    await writeAll(stores.slice(1), newer);
    const expected = new Map(records.map((r) => [r.name, r]));
    for (const r of newer) expected.set(r.name, r);
    const expectedNames = [...expected.keys()].sort(compareCatalogNames);

    const reopened = streamNewestRecords(stores, { maxOpenSegments: 10, chunkBytes: 1024 });
    if (!reopened) throw new Error('not streamed');
    const all = [...reopened.records];
    expect(all.map((r) => r.name)).toEqual(expectedNames);
    for (const r of all) expect(r).toEqual(expected.get(r.name));
    expect(reopened.unreadable).toEqual([]);

    const racing = streamNewestRecords(stores, { maxOpenSegments: 10, chunkBytes: 1024 });
    if (!racing) throw new Error('not streamed');
    const got: CatalogRecord[] = [];
    for (const r of racing.records) {
      got.push(r);
      if (got.length !== 5_000) continue;
      // A check merges every bucket of every store: each store's catalog becomes new segments, the listed ones removed.
      for (const store of stores) {
        const sync = new DirectorySync();
        await compactCatalog(store, undefined, [], sync);
      }
      expect((await segmentsOf(stores[0])).length).toBeLessThanOrEqual(256);
    }
    expect(got.map((r) => r.name)).toEqual(expectedNames);
    for (const r of got) expect(r).toEqual(expected.get(r.name));
  }, 60_000);

  it('a store of 150,000 names is read whole (appending them as call arguments overflowed V8 past ~125,000)', async () => {
    const many = Array.from({ length: 150_000 }, (_, i) => record(`big/${i}`, 1000n + BigInt(i)));
    const sync = new DirectorySync();
    await writeCatalogRecords(stores[0], many, sync);
    await sync.flush();
    expect((await scanCatalog(stores[0])).records).toHaveLength(many.length);
    expect((await readNewestRecords(stores.slice(0, 1))).records.size).toBe(many.length);
  }, 60_000);

  it('with a prefix, records outside it are passed over on their name and the prefix\'s names all come, a damaged one among them from another copy', async () => {
    // Names with escapes (bytes that are not UTF-8, a backslash) are found by decoding their line: in the prefix or not.
    const all = [...names, 'dir3/bad\\xffx', 'dir3/back\\\\slash', 'dir2/bad\\xfey', 'dir4/z\\xfe'];
    const records = all.map((name, i) => record(name, 1000n + BigInt(i)));
    await writeAll(stores, records);
    const prefix = 'dir3/';
    const wanted = all.filter((n) => n.startsWith(prefix)).sort(compareCatalogNames);
    expect(wanted).toContain('dir3/bad\\xffx');
    const only = (stream: ReturnType<typeof streamNewestRecords>): string[] => [...(stream?.records ?? [])].map((r) => r.name).filter((n) => n.startsWith(prefix));
    const full = streamed().length;
    const narrowed = [...(streamNewestRecords(stores, { prefix })?.records ?? [])];
    expect(narrowed.filter((r) => r.name.startsWith(prefix)).map((r) => r.name)).toEqual(wanted);
    // Segments' records outside the prefix are not produced (plain files may still be).
    expect(narrowed.length).toBeLessThan(full / 2);
    // Damage one line of a name under the prefix on the first store: it comes from another store's copy.
    for (const segment of await segmentsOf(stores[0])) {
      const file = path.join(stores[0], 'catalog', segment);
      const text = await fs.readFile(file, 'utf8');
      const victim = text.split('\n').find((line) => line.includes(`"name":"${prefix}`));
      if (victim === undefined) continue;
      await fs.writeFile(file, text.replace(victim, victim.replace('"deleted":false', '"deleted":fals3')));
      break;
    }
    expect(only(streamNewestRecords(stores, { prefix }))).toEqual(wanted);
  });
});

describe('how many segments a listing holds open, and how much it reads of each', () => {
  it('reads the soft descriptor limit from /proc/self/limits and keeps 1,024 free, never below 512', () => {
    const limits = (soft: string): string =>
      `Limit                     Soft Limit           Hard Limit           Units     \nMax processes             95567                95567                processes \nMax open files            ${soft}                20000                files     \n`;
    expect(openDescriptorLimit(limits('20000'))).toBe(20000);
    expect(openDescriptorLimit(limits('unlimited'))).toBe(Number.MAX_SAFE_INTEGER);
    expect(openDescriptorLimit(limits('-5'))).toBeUndefined();
    expect(openDescriptorLimit('no such line')).toBeUndefined();
    expect(openSegmentsAllowed(20000)).toBe(18976);
    expect(openSegmentsAllowed(1024)).toBe(MAX_OPEN_SEGMENTS);
    expect(openSegmentsAllowed(undefined)).toBe(MAX_OPEN_SEGMENTS);
    // This process's own limit (the tests run on Linux, where /proc says it).
    expect(openDescriptorLimit()).toBeGreaterThanOrEqual(1024);
  });

  it('gives each run a chunk within the budget: 32 MiB while runs get 16 KiB or more, then 64 MiB down to 2 KiB each', () => {
    expect(chunkBytesFor(1)).toBe(256 * 1024);
    expect(chunkBytesFor(256)).toBe(128 * 1024);
    expect(chunkBytesFor(2048)).toBe(16 * 1024);
    expect(chunkBytesFor(16_384)).toBe(4 * 1024);
    expect(chunkBytesFor(32_768)).toBe(2 * 1024);
    for (const runs of [1, 100, 2048, 2049, 4096, 15_872, 32_768]) expect(chunkBytesFor(runs) * runs).toBeLessThanOrEqual(64 * 1024 * 1024);
  });
});
