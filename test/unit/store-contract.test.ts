import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { CatalogRecord } from '../../src/format/catalog-record.js';
import { RESPONSIBILITY_VERSION, type Manifest } from '../../src/format/manifest.js';
import { newId } from '../../src/format/ids.js';
import { fromWire, StoreError, toWire } from '../../src/rain-error.js';
import { LocalStore } from '../../src/store/local-store.js';
import { RemoteStore, type StoreTransport } from '../../src/store/remote-store.js';
import { nameHash } from '../../src/store/store-layout.js';
import { callStore, type Store } from '../../src/store/store.js';

/**
 * The contract every kind of store keeps (as restic's backend test suite does for its backends):
 * each implementation of Store runs these same tests. A new kind of store adds itself to KINDS.
 * The remote kind runs over a loopback transport that serialises every call and reply the way
 * IPC and the ssh frames do (V8 structured clone), errors in their wire form.
 */
const loopback = (target: Store): StoreTransport => ({
  async call(_location, method, args) {
    const sent = v8.deserialize(v8.serialize(args)) as unknown[];
    try {
      return v8.deserialize(v8.serialize(await callStore(target, method, sent)));
    } catch (error) {
      throw fromWire(v8.deserialize(v8.serialize(toWire(error))) as ReturnType<typeof toWire>);
    }
  },
});

const KINDS: [string, (dir: string) => Store][] = [
  ['LocalStore', (dir) => new LocalStore(dir)],
  ['RemoteStore over a serialising transport', (dir) => new RemoteStore(`ssh://test${dir}`, loopback(new LocalStore(dir)))],
];

const poolId = newId();

function record(name: string, sequence: bigint, overrides: Partial<CatalogRecord> = {}): CatalogRecord {
  return {
    name, fileId: newId(), sequence, deleted: false, fileSizeBytes: 10, k: 2, m: 1, blockSizeBytes: 4096,
    datasetCount: 1, writtenAt: '2026-12-02T00:00:00.000Z', datasetChecksums: [123], ...overrides,
  };
}

describe.each(KINDS)('the Store contract: %s', (_kind, open) => {
  let dir: string;
  let store: Store;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rain-store-contract-'));
    store = open(dir);
  });
  afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

  const header = (sequence: bigint, blockIndex = 0) => ({
    poolId, fileId: 'ab'.repeat(16), name: 'f.bin', sequence, fileSizeBytes: 40, k: 2, m: 1, blockIndex,
    datasetIndex: 0, datasetCount: 1, blockSizeBytes: 4096, payloadLengthBytes: 32, datasetDataBytes: 40,
  });
  const expected = (sequence: bigint, blockIndex = 0) => ({ poolId, fileId: 'ab'.repeat(16), datasetIndex: 0, blockIndex, sequence, payloadLengthBytes: 32, name: 'f.bin' });
  const payload = Buffer.from('0123456789abcdef0123456789abcdef');

  it('writes a block, reads it back checked (into a lent buffer too), verifies it in place, lists and removes it', async () => {
    const crc = await store.writeBlock(header(5n), payload);
    await store.flush();
    const read = await store.readBlock(expected(5n));
    expect(read.status === 'good' && read.payload.equals(payload) && read.header.payloadCrc32 === crc).toBe(true);
    const into = Buffer.alloc(64);
    const lent = await store.readBlock(expected(5n), into);
    expect(lent.status === 'good' && lent.payload.buffer === into.buffer).toBe(true);
    expect((await store.verifyBlock(expected(5n))).status).toBe('good');
    expect((await store.readBlockHeader('ab'.repeat(16), { datasetIndex: 0, blockIndex: 0, sequence: 5n }))?.name).toBe('f.bin');
    expect(await store.listFileBlocks('ab'.repeat(16))).toEqual([{ datasetIndex: 0, blockIndex: 0, sequence: 5n }]);
    expect((await store.readBlock(expected(6n))).status).toBe('missing');
    await store.removeBlock('ab'.repeat(16), { datasetIndex: 0, blockIndex: 0, sequence: 5n });
    expect((await store.readBlock(expected(5n))).status).toBe('missing');
  });

  it('removes, collects and sweeps a file\'s blocks by sequence and placement', async () => {
    for (const [sequence, blockIndex] of [[1n, 0], [2n, 0], [2n, 1], [3n, 0]] as const) await store.writeBlock(header(sequence, blockIndex), payload);
    expect(await store.collectOlderBlocks('ab'.repeat(16), 2n, [2n])).toBe(1);
    expect(await store.sweepMisplacedBlocks('ab'.repeat(16), 2n, [0])).toBe(1); // block 1 of data set 0 does not live here
    expect(await store.removeFileBlocks('ab'.repeat(16), 3n, 'exactly')).toBe(1);
    expect(await store.listFileBlocks('ab'.repeat(16))).toEqual([{ datasetIndex: 0, blockIndex: 0, sequence: 2n }]);
  });

  it('writes catalog records, scans the newest of each name, lists and removes versions', async () => {
    await store.writeCatalogRecord(record('a', 1n));
    await store.writeCatalogRecord(record('a', 2n));
    await store.writeCatalogRecord(record('b', 7n, { deleted: true }));
    await store.flush();
    const scan = await store.scanCatalog();
    expect(scan.records.map((r) => [r.name, r.sequence, r.deleted]).sort()).toEqual([['a', 2n, false], ['b', 7n, true]]);
    expect((await store.scanCatalog('a', new Map())).records.map((r) => r.sequence)).toEqual([2n]);
    expect(await store.listRecordVersions('a')).toEqual([2n, 1n]);
    const versions = await store.listRecordVersionsOf(['a', 'b']);
    expect([...versions].map(([name, sequences]) => [name, [...sequences].sort()]).sort()).toEqual([['a', [1n, 2n]], ['b', [7n]]]);
    await store.removeCatalogRecord('a', 1n);
    expect(await store.listRecordVersions('a')).toEqual([2n]);
  });

  it('writes scrub logs once each, reads them all back, removes them by name', async () => {
    const first = await store.writeScrubLog('one\n');
    const second = await store.writeScrubLog('two\n');
    expect(first).not.toBe(second);
    expect((await store.readScrubLogs()).map((l) => l.text).sort()).toEqual(['one\n', 'two\n']);
    await store.removeScrubLogs([first, '../rain-pool.json']);
    expect((await store.readScrubLogs()).map((l) => l.file)).toEqual([second]);
  });

  it('keeps one fault note per slot, reads back only sound ones, and removes a note only up to a time', async () => {
    const poolId = newId();
    const storeId = newId();
    const note = { poolId, slot: 2, storeId, reason: 'disk full (ENOSPC): write', errno: 'ENOSPC', command: 'put', atMs: 2000, sinceMs: 1000 };
    await store.writeStoreFault(note);
    await store.writeStoreFault({ ...note, atMs: 3000 });
    expect(await store.readStoreFaults()).toEqual([{ ...note, atMs: 3000 }]);
    await store.removeStoreFault(2, 2500); // the note is newer than that: it stays
    expect(await store.readStoreFaults()).toHaveLength(1);
    await store.removeStoreFault(2, 3000);
    expect(await store.readStoreFaults()).toEqual([]);
  });

  /** `count` names whose records share one catalog bucket (so they land in one segment). */
  function namesInOneBucket(count: number): string[] {
    const bucket = nameHash('n0').slice(0, 2);
    const names: string[] = [];
    for (let i = 0; names.length < count; i++) if (nameHash(`n${i}`).startsWith(bucket)) names.push(`n${i}`);
    return names;
  }

  const segmentFiles = async (): Promise<string[]> => {
    const found: string[] = [];
    for (const bucket of await fs.readdir(path.join(dir, 'catalog')).catch(() => [])) {
      for (const file of await fs.readdir(path.join(dir, 'catalog', bucket))) if (file.endsWith('.seg')) found.push(path.join(dir, 'catalog', bucket, file));
    }
    return found;
  };
  const newest = async (only?: string[]) => (await store.scanCatalog(only)).records.map((r) => [r.name, r.sequence] as const).sort();

  it('writes many records as one segment per bucket; a scan takes the newest of segments and record files', async () => {
    const [a, b, c] = namesInOneBucket(3);
    await store.writeCatalogRecords([record(a, 5n), record(b, 5n), record(c, 5n), record('elsewhere-0', 5n)]);
    await store.flush();
    expect(await segmentFiles()).toHaveLength(1);
    // A lone record of its bucket is a plain record file, as writeCatalogRecord writes.
    expect(await store.listRecordVersions('elsewhere-0')).toEqual([5n]);
    await store.writeCatalogRecord(record(a, 9n));
    await store.writeCatalogRecord(record(b, 3n));
    await store.flush();
    expect(await newest()).toEqual([[a, 9n], [b, 5n], [c, 5n], ['elsewhere-0', 5n]].sort());
    expect(await newest([b])).toEqual([[b, 5n]]);
    // What the caller holds already is skipped, in segments too.
    expect((await store.scanCatalog([a, b, c], new Map([[nameHash(b), 5n]]))).records.map((r) => r.name).sort()).toEqual([a, c].sort());
    // Plain record files only: segment-held versions are for compactCatalog.
    expect(await store.listRecordVersions(b)).toEqual([3n]);
  });

  it('scans whole catalog buckets (a check\'s upkeep walks them one at a time) and refuses a bucket that is not two hex digits', async () => {
    const [a, b] = namesInOneBucket(2);
    const others = Array.from({ length: 40 }, (_, i) => `other-${i}`).filter((name) => nameHash(name).slice(0, 2) !== nameHash(a).slice(0, 2));
    await store.writeCatalogRecords([record(a, 5n), record(b, 5n), ...others.map((name) => record(name, 2n))]);
    await store.writeCatalogRecord(record(b, 7n));
    await store.flush();
    const bucketOf = (name: string) => nameHash(name).slice(0, 2);
    const scanned = async (buckets: string[]) => (await store.scanCatalog({ buckets })).records.map((r) => [r.name, r.sequence] as const).sort();
    expect(await scanned([bucketOf(a)])).toEqual([[a, 5n], [b, 7n]].sort());
    const two = [bucketOf(a), bucketOf(others[0])];
    expect(await scanned(two)).toEqual([[a, 5n], [b, 7n], ...others.filter((n) => two.includes(bucketOf(n))).map((n) => [n, 2n] as const)].sort());
    expect(await scanned(['ff' === bucketOf(a) ? 'fe' : 'ff'])).toEqual(
      [...others.filter((n) => bucketOf(n) === ('ff' === bucketOf(a) ? 'fe' : 'ff')).map((n) => [n, 2n] as const)].sort());
    await expect(store.scanCatalog({ buckets: ['../..'] })).rejects.toThrow(/two hex digits/);
  });

  it('compacts a bucket\'s segments into one, leaving out superseded, damaged and dropped copies', async () => {
    const [a, b, c, d] = namesInOneBucket(4);
    await store.writeCatalogRecords([record(a, 1n), record(b, 1n), record(c, 1n, { deleted: true })]);
    await store.writeCatalogRecords([record(a, 2n), record(d, 2n)]);
    await store.writeCatalogRecord(record(b, 4n));
    await store.flush();
    // Damage the last line of one segment: that copy is lost, the rest of the segment still reads.
    const [first] = (await segmentFiles()).sort();
    const lines = (await fs.readFile(first, 'utf8')).split('\n');
    lines[lines.length - 2] = lines[lines.length - 2].replace('"name"', '"nAme"');
    await fs.writeFile(first, lines.join('\n'));
    const before = await store.scanCatalog();
    expect(before.unreadable.some((u) => u.includes('1 damaged lines'))).toBe(true);
    const compaction = await store.compactCatalog(undefined, [{ name: c, sequence: 1n }]);
    expect(compaction.segmentsMerged).toBe(2);
    expect(await segmentFiles()).toHaveLength(1);
    const after = await store.scanCatalog();
    expect(after.unreadable).toEqual([]);
    const held = after.records.map((r) => [r.name, r.sequence] as const).sort();
    // b's segment copy is superseded by its plain record; c was dropped (a collected tombstone).
    expect(held.filter(([name]) => name === a || name === b || name === c)).toEqual([[a, 2n], [b, 4n]].sort());
    // Nothing more to do: a second compaction leaves the one segment alone.
    expect((await store.compactCatalog(undefined, [])).segmentsMerged).toBe(0);
  });

  it('hands out a settled segment\'s bytes and adopts them only into an empty bucket, checked against their id', async () => {
    const [a, b, c] = namesInOneBucket(3);
    const bucket = nameHash(a).slice(0, 2);
    await store.writeCatalogRecords([record(a, 1n), record(b, 1n)]);
    await store.flush();
    await store.compactCatalog([bucket], []);
    const settled = await store.settledCatalogBucket(bucket);
    if (settled === undefined || settled === 'empty') throw new Error(`bucket ${bucket} is not settled`);
    const bytes = await store.readSettledSegment(bucket, settled.id);
    expect(bytes?.equals(await fs.readFile((await segmentFiles())[0]))).toBe(true);
    expect(await store.readSettledSegment(bucket, 'f'.repeat(32))).toBeUndefined();

    const otherDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rain-store-contract-'));
    try {
      const other = open(otherDir);
      const flipped = Buffer.from(bytes!);
      flipped[flipped.length - 3] ^= 1;
      // Bytes that do not hash to the id, or a header of another bucket, are refused; nothing is written.
      expect(await other.adoptSettledSegments(bucket, [{ id: settled.id, bytes: flipped }])).toBe(false);
      expect(await other.adoptSettledSegments(bucket === '00' ? '01' : '00', [{ id: settled.id, bytes: bytes! }])).toBe(false);
      expect(await other.settledCatalogBucket(bucket)).toBe('empty');
      await expect(other.adoptSettledSegments('../..', [{ id: settled.id, bytes: bytes! }])).rejects.toThrow(/two hex digits/);
      expect(await other.adoptSettledSegments(bucket, [{ id: settled.id, bytes: bytes! }])).toBe(true);
      expect(await other.settledCatalogBucket(bucket)).toEqual(settled);
      expect((await other.scanCatalog({ buckets: [bucket] })).records.map((r) => r.name).sort()).toEqual([a, b].sort());
      // A bucket that holds anything gets the full upkeep instead.
      await other.writeCatalogRecord(record(c, 2n));
      await other.flush();
      expect(await other.adoptSettledSegments(bucket, [{ id: settled.id, bytes: bytes! }])).toBe(false);
    } finally {
      await fs.rm(otherDir, { recursive: true, force: true });
    }
  });

  it('a bucket of several content-named segments is settled by all their ids; they are handed out and adopted together', async () => {
    const [a, b, c] = namesInOneBucket(3);
    const bucket = nameHash(a).slice(0, 2);
    await store.writeCatalogRecords([record(a, 1n), record(b, 1n)]);
    await store.writeCatalogRecords([record(b, 2n), record(c, 2n)]);
    await store.flush();
    const settled = await store.settledCatalogBucket(bucket);
    if (settled === undefined || settled === 'empty') throw new Error(`bucket ${bucket} is not settled`);
    expect(settled.segments).toBe(2);
    const ids = settled.id.split('+');
    expect(ids).toHaveLength(2);
    const segments = await Promise.all(ids.map(async (id) => ({ id, bytes: (await store.readSettledSegment(bucket, id))! })));
    expect(segments.every((segment) => segment.bytes !== undefined)).toBe(true);
    const otherDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rain-store-contract-'));
    try {
      const other = open(otherDir);
      // One bad segment refuses them all: nothing is written.
      const flipped = { id: segments[1].id, bytes: Buffer.from(segments[1].bytes) };
      flipped.bytes[flipped.bytes.length - 3] ^= 1;
      expect(await other.adoptSettledSegments(bucket, [segments[0], flipped])).toBe(false);
      expect(await other.settledCatalogBucket(bucket)).toBe('empty');
      expect(await other.adoptSettledSegments(bucket, segments)).toBe(true);
      expect(await other.settledCatalogBucket(bucket)).toEqual(settled);
      expect((await other.scanCatalog({ buckets: [bucket] })).records.map((r) => [r.name, r.sequence] as const).sort())
        .toEqual([[a, 1n], [b, 2n], [c, 2n]].sort());
    } finally {
      await fs.rm(otherDir, { recursive: true, force: true });
    }
  });

  it('claims an epoch exclusively, reads and withdraws claims, finds the highest valid one and junk', async () => {
    const claim = { epoch: 3, claimantId: newId(), pid: 1, host: 'h', purpose: 'check', membership: [0, 1], createdAt: new Date().toISOString() };
    expect(await store.createClaim(claim)).toBe(true);
    expect(await store.createClaim({ ...claim, claimantId: newId() })).toBe(false);
    expect((await store.readClaim(3))?.claimantId).toBe(claim.claimantId);
    await fs.writeFile(path.join(dir, 'epochs', '99999999999999999999.claim'), 'junk');
    await fs.writeFile(path.join(dir, 'epochs', '9.claim'), 'not a claim');
    expect(await store.highestClaim()).toEqual({ highest: 3, junk: ['99999999999999999999.claim', '9.claim'] });
    await store.writeHeartbeat(3, claim.claimantId);
    expect(await store.claimSilenceMs(3)).toBeLessThan(5000);
    await store.writeWorkerRecord(3, 'register', 1, { datasets: 4 });
    expect(await store.readWorkerRecord(3, 'register', 1)).toEqual(expect.objectContaining({ datasets: 4 }));
    await store.withdrawClaim(3, 'someone else');
    expect(await store.readClaim(3)).toBeDefined();
    await store.withdrawClaim(3, claim.claimantId);
    expect(await store.readClaim(3)).toBeUndefined();
    await store.pruneEpochFiles(4);
    expect((await fs.readdir(path.join(dir, 'epochs'))).sort()).toEqual(['9.claim', '99999999999999999999.claim']);
  });

  it('publishes an identity exclusively, writes and reads identity and manifest, removes both', async () => {
    const identity = { poolId, storeId: newId(), slot: 0 };
    await store.publishIdentity(identity);
    await expect(store.publishIdentity(identity)).rejects.toMatchObject({ code: 'EEXIST' });
    const manifest: Manifest = {
      poolId, name: 'p', k: 2, m: 1, blockSizeBytes: 4096, epoch: 1, responsibilityVersion: RESPONSIBILITY_VERSION, createdAt: 'now',
      stores: [0, 1, 2].map((slot) => ({ slot, storeId: newId(), path: `/s${slot}` })),
    };
    await store.writeManifest(manifest);
    expect(await store.readManifest()).toEqual({ status: 'ok', value: manifest });
    expect(await store.readIdentity()).toEqual({ status: 'ok', value: identity });
    await store.writeIdentity({ ...identity, slot: 0 });
    const probe = await store.probe({ writeProbe: true });
    expect(probe).toEqual(expect.objectContaining({ isDirectory: true, holdsStore: true, writable: true, mountProblems: [] }));
    await store.removeMarkers();
    expect((await store.readIdentity()).status).toBe('absent');
    expect((await store.readManifest()).status).toBe('absent');
  });

  it('writes, reads and removes announcements, and removes dead ones', async () => {
    await store.prepareIntentDirectories();
    const writerId = newId();
    const readerId = newId();
    const versions = [{ fileId: newId(), sequence: '5' }, { fileId: newId(), sequence: '7' }];
    // Written twice with the same list of versions (as heartbeats do): the second time's time is what is read.
    await store.writeIntent('writer', writerId, { writerId, pid: 1, host: 'h', at: Date.now() - 5, versions });
    const intent = { writerId, pid: 1, host: 'h', namespace: 'ns', at: Date.now(), versions };
    await store.writeIntent('writer', writerId, intent);
    await store.writeIntent('reader', readerId, { readerId, pid: 1, host: 'h', at: Date.now() - 10_000_000, names: 'all' });
    expect(await store.readWriterIntents()).toEqual([intent]);
    expect((await store.readReaderIntents()).map((i) => i.names)).toEqual(['all']);
    expect(await store.removeDeadIntents(60_000)).toBe(1);
    await store.removeIntent('writer', writerId);
    expect(await store.readWriterIntents()).toEqual([]);
  });

  it('scans what it holds and its layout; a FIFO where a block belongs reads corrupt at once and is moved aside', async () => {
    await store.writeBlock(header(5n), payload);
    const fifo = path.join(dir, 'blocks', 'ab', 'ab'.repeat(16), '0.1.5.blk');
    execFileSync('mkfifo', [fifo]);
    expect((await store.readBlock(expected(5n, 1))).status).toBe('corrupt');
    const scan = await store.scan({ detailed: true, repairLayout: false });
    expect(scan.fileIds).toEqual(['ab'.repeat(16)]);
    expect(scan.anomalies).toEqual([expect.stringMatching(/0\.1\.5\.blk is a FIFO/)]);
    const repaired = await store.scan({ detailed: true, repairLayout: true });
    expect(repaired.movedAside).toEqual([expect.stringMatching(/moved to quarantine\//)]);
    expect((await store.scan({ detailed: false, repairLayout: false })).anomalies).toEqual([]);
  });

  it('refuses to write through a link planted inside it, with a StoreError naming it', async () => {
    const outside = await fs.mkdtemp(path.join(os.tmpdir(), 'rain-outside-'));
    try {
      await fs.symlink(outside, path.join(dir, 'tmp'));
      const failure = await store.writeBlock(header(5n), payload).then(() => undefined, (error: unknown) => error);
      expect(failure).toBeInstanceOf(StoreError);
      expect((failure as StoreError).message).toMatch(/tmp is a symbolic link/);
      expect(await fs.readdir(outside)).toEqual([]);
    } finally {
      await fs.rm(outside, { recursive: true, force: true });
    }
  });

  it('removes temp files left for an hour, and nothing else', async () => {
    await store.writeBlock(header(5n), payload);
    const old = path.join(dir, 'tmp', 'left.tmp');
    await fs.writeFile(old, 'x');
    await fs.utimes(old, new Date(Date.now() - 7_200_000), new Date(Date.now() - 7_200_000));
    await fs.writeFile(path.join(dir, 'tmp', 'fresh.tmp'), 'y');
    expect(await store.removeStaleTempFiles(3_600_000)).toBe(1);
    expect(await fs.readdir(path.join(dir, 'tmp'))).toEqual(['fresh.tmp']);
  });
});
