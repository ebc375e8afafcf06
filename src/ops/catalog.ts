import path from 'node:path';
import { compareVersions, newestRecord, versionKeyOf, type CatalogRecord, type VersionKey } from '../format/catalog-record.js';
import { compareCatalogNames } from '../format/catalog-segment.js';
import { describeStoreError } from '../rain-error.js';
import type { CatalogScan, CatalogScope } from '../store/catalog-files.js';
import type { SettledBucket } from '../store/catalog-compaction.js';
import { storeAt } from '../store/store-set.js';
import { CATALOG_BUCKETS, nameHash, parseCatalogFileName } from '../store/store-layout.js';
import { forEachBounded } from './for-each-bounded.js';
import { appendAll } from '../format/append-all.js';

/** The current state of every name: what commands that read or write files need. */
export interface NewestRecords {
  /** Newest record per name (tombstones included), gathered from every readable store. */
  readonly records: Map<string, CatalogRecord>;
  /** Record files opened that do not decode (torn, bit-flipped, foreign). */
  readonly unreadableFiles: string[];
}

/** NewestRecords with every store's copy read, for the commands that judge or repair metadata. */
export interface CatalogView extends NewestRecords {
  /** How many stores hold the newest version of each name (fewer than all: rebuild refreshes). */
  readonly copies: Map<string, number>;
}

/**
 * Merges the catalogs of the given stores, every record copy read and checked: `verify` reports
 * missing and damaged copies from it. The highest sequence of each name wins. `only` (one name
 * or many) limits the work to those names, so a put of many files looks them all up at once.
 */
export async function readCatalog(storePaths: readonly string[], only?: CatalogScope): Promise<CatalogView> {
  return (await foldCatalogs(storePaths, { only, countCopies: true })).view;
}

/**
 * The newest record of every name (or of `only`), as readCatalog, but a store this process
 * reaches itself opens only the record files newer than what the stores before it gave: its
 * directory listing shows the rest. One store's records are read instead of every store's.
 */
export async function readNewestRecords(storePaths: readonly string[], only?: CatalogScope): Promise<NewestRecords> {
  return (await foldCatalogs(storePaths, { only, countCopies: false })).view;
}

/**
 * The newest record of every name, handed to `visit` one catalog bucket at a time (buckets in
 * order, names within a bucket in no particular order): what a command that looks at every name
 * once needs, with one bucket's records in memory instead of the whole catalog's. Returns the
 * record files that did not decode.
 */
export async function forEachNewestRecord(storePaths: readonly string[], visit: (record: CatalogRecord) => void): Promise<string[]> {
  const unreadable: string[] = [];
  await forEachNewestBucket(storePaths, (view) => {
    for (const record of view.records.values()) visit(record);
    appendAll(unreadable, view.unreadableFiles);
  });
  return unreadable;
}

/** readNewestRecords of one catalog bucket after another, each view handed to `visit` whole. */
export async function forEachNewestBucket(storePaths: readonly string[], visit: (view: NewestRecords) => void): Promise<void> {
  for (const bucket of CATALOG_BUCKETS) visit(await readNewestRecords(storePaths, { buckets: [bucket] }));
}

/**
 * readCatalog one catalog bucket at a time, every store's copy of a bucket read before the next
 * bucket: memory holds one bucket's view, and the same segment on six stores is decoded once (the
 * decode memos hold a bucket, never a million-name catalog: read store after store, every line
 * of a 1,000,000-name pool was decoded six times and a verify spent a third of its time in GC).
 * The next bucket is already being read while the caller works on the current one (a verify
 * checks one bucket's files while the next is decoded).
 */
export async function* catalogBuckets(storePaths: readonly string[]): AsyncGenerator<CatalogView> {
  const read = (bucket: string): Promise<CatalogView> => {
    const reading = readCatalogBucket(storePaths, bucket);
    // Awaited below; until then a failure must not count as unhandled (a caller that stops early never awaits it).
    reading.catch(() => undefined);
    return reading;
  };
  let next = read(CATALOG_BUCKETS[0]);
  for (let i = 0; i < CATALOG_BUCKETS.length; i++) {
    const view = await next;
    if (i + 1 < CATALOG_BUCKETS.length) next = read(CATALOG_BUCKETS[i + 1]);
    yield view;
  }
}

/** readCatalog of one bucket; when every store holds it as the same settled segments, one copy is decoded. */
async function readCatalogBucket(storePaths: readonly string[], bucket: string): Promise<CatalogView> {
  if (!(await settledEverywhere(storePaths, bucket, { tombstones: true }))) return readCatalog(storePaths, { buckets: [bucket] });
  // Every store holds the same bytes: one copy is decoded, and every name is on every store.
  const view = await readNewestRecords(storePaths, { buckets: [bucket] });
  const copies = new Map<string, number>();
  for (const name of view.records.keys()) copies.set(name, storePaths.length);
  return { ...view, copies };
}

/**
 * Whether every store holds the bucket as the same settled segments (catalog-compaction.ts
 * settledCatalogBucket: content-named segments whose bytes hash to their names, nothing else), or
 * every store holds nothing in it; with `tombstones: false`, also that no line of it is a
 * tombstone. Then the copies are identical bytes that rain wrote: a check has nothing to copy,
 * collect or merge, and a reader counting copies needs to decode one (a check of 1,000,000 names
 * spent most of its catalog upkeep decoding six). A store that cannot answer is not settled.
 */
export async function settledEverywhere(storePaths: readonly string[], bucket: string, options: { tombstones: boolean }): Promise<boolean> {
  if (storePaths.length === 0) return false;
  const settled = await settledStates(storePaths, bucket);
  const first = settled[0];
  if (first === undefined) return false;
  if (first === 'empty') return settled.every((s) => s === 'empty');
  return (options.tombstones || !first.tombstones) && settled.every((s) => s !== undefined && s !== 'empty' && s.id === first.id);
}

/** Each store's settled state of the bucket (settledCatalogBucket); undefined where a store cannot answer. */
export function settledStates(storePaths: readonly string[], bucket: string): Promise<(SettledBucket | 'empty' | undefined)[]> {
  return Promise.all(storePaths.map((storePath) => storeAt(storePath).settledCatalogBucket(bucket).catch(() => undefined)));
}

/**
 * Scans are folded into the merged view one at a time, so only one store's records are alive
 * besides it: the stores this process reaches itself are scanned one after another (their scans
 * run in this thread anyway), remote ones in parallel on their own hosts. With countCopies every
 * record file is read and counted, and `ownOf` stores get their own newest sequence per name
 * (undefined where the store could not be scanned).
 */
async function foldCatalogs(
  storePaths: readonly string[],
  options: { only?: CatalogScope; countCopies: boolean; ownOf?: readonly string[] },
): Promise<{ view: CatalogView; own: (Map<string, VersionKey> | undefined)[] }> {
  const records = new Map<string, CatalogRecord>();
  const copies = new Map<string, number>();
  const unreadableFiles: string[] = [];
  const own: (Map<string, VersionKey> | undefined)[] = storePaths.map(() => undefined);
  // Name hash -> newest sequence held, for scans that skip what is already known.
  const held = options.countCopies ? undefined : new Map<string, bigint>();
  const fold = (index: number, scan: CatalogScan | undefined): void => {
    if (!scan) return;
    // Only the version of each record is kept per store (a million names on six stores were six
    // million whole records, and a check ran out of heap).
    const ownNewest = options.ownOf?.includes(storePaths[index]) ? new Map<string, VersionKey>() : undefined;
    for (const record of scan.records) {
      const before = records.get(record.name);
      if (!before || newestRecord([before, record]) === record) {
        records.set(record.name, record);
        copies.set(record.name, 1);
        // A packed record may have a moved copy at its own sequence elsewhere (docs/FORMAT.md §5.1,
        // "Repacking"): the next stores are asked for that sequence too.
        held?.set(nameHash(record.name), record.pack && !record.deleted ? record.sequence - 1n : record.sequence);
      } else if (compareVersions(record, before) === 0) {
        copies.set(before.name, (copies.get(before.name) ?? 0) + 1);
      }
      // Keyed by the merged record's name string, so this store's copy of it can be collected.
      ownNewest?.set(records.get(record.name)?.name ?? record.name, versionKeyOf(record));
    }
    appendAll(unreadableFiles, scan.unreadable);
    own[index] = ownNewest;
  };
  // Segments already read whole from one store (content-named: the same bytes wherever the name
  // is the same, docs/FORMAT.md §4.1) are not read again from the next, unless every copy counts.
  const readSegments = options.countCopies ? undefined : new Set<string>();
  const scanOf = (storePath: string, known?: ReadonlyMap<string, bigint>): Promise<CatalogScan | undefined> =>
    // Passed even empty: a scan given segments to skip reads each once and keeps none decoded for the next store.
    storeAt(storePath).scanCatalog(options.only, known, readSegments).catch(unreadableUnlessBug);
  const remote = storePaths.map((storePath) => (storeAt(storePath).remote ? scanOf(storePath) : undefined));
  for (let i = 0; i < storePaths.length; i++) {
    if (remote[i]) continue;
    const scan = await scanOf(storePaths[i], held);
    for (const segment of scan?.cleanSegments ?? []) readSegments?.add(segment);
    fold(i, scan);
  }
  for (let i = 0; i < storePaths.length; i++) {
    if (remote[i]) fold(i, await remote[i]);
  }
  return { view: { records, copies, unreadableFiles }, own };
}

/**
 * A store whose catalog cannot be read counts as unreadable (the others are read), but a fault of
 * rain's own (a RangeError, TypeError...) is not a failed store: taken for one on every store it
 * once made a pool of 150,000 names look empty (append-all.ts). It stops the command instead.
 */
function unreadableUnlessBug(error: unknown): undefined {
  if (error instanceof RangeError || error instanceof TypeError || error instanceof ReferenceError || error instanceof SyntaxError) throw error;
  return undefined;
}

/**
 * Unreadable record files whose name no readable record accounts for: a file may be missing from
 * the view. (A record dropped under the scan because a newer one committed is not one of them:
 * scanCatalog lists such a name again.)
 */
export function unaccountedFiles(view: NewestRecords): string[] {
  if (view.unreadableFiles.length === 0) return [];
  const known = new Set([...view.records.keys()].map(nameHash));
  return view.unreadableFiles.filter((file) => {
    // A damaged segment (or line of one) does not say whose record it held.
    if (/\.seg( \(|$)/.test(file)) return true;
    const parsed = parseCatalogFileName(path.basename(file));
    return parsed !== undefined && !known.has(parsed.nameHash);
  });
}

/** Live (not deleted) records, sorted by name. */
export function liveRecords(view: NewestRecords): CatalogRecord[] {
  return [...view.records.values()].filter((r) => !r.deleted).sort((a, b) => compareCatalogNames(a.name, b.name));
}

/**
 * The commit point of a put or rm: the record is written durably to every writable store, in
 * parallel. Returns how many stores took it; the caller decides whether that is enough.
 */
export async function commitRecord(storePaths: readonly string[], record: CatalogRecord): Promise<{ written: number; errors: string[] }> {
  return (await commitRecords(storePaths, [record], false))[0];
}

/** Catalog files (plain records or segments) written at once per store: enough for the file system to group their fsyncs. */
const RECORDS_IN_FLIGHT_PER_STORE = 32;

/**
 * Commits many records (each its own commit point, as commitRecord) with one directory fsync per
 * store and catalog bucket for the lot. The records of one bucket go into one segment file
 * (docs/FORMAT.md §4; a lone record into a plain record file), written to tmp/, fsynced and
 * renamed; none is reported written before its rename is durable. Returns, per record, how many
 * stores took it.
 */
export async function commitRecords(
  storePaths: readonly string[], records: readonly CatalogRecord[], segments: boolean,
): Promise<{ written: number; errors: string[] }[]> {
  const outcomes = records.map(() => ({ written: 0, errors: [] as string[] }));
  const items = records.map((record, index) => ({ record, index }));
  // A pool an older rain may still open gets plain record files only (allowsCatalogSegments).
  const groups = segments ? bucketGroups(items) : items.map((item) => [item]);
  await Promise.all(storePaths.map(async (storePath) => {
    const store = storeAt(storePath);
    const took: number[] = [];
    await forEachBounded(groups, RECORDS_IN_FLIGHT_PER_STORE, async (group) => {
      try {
        await store.writeCatalogRecords(group.map((g) => g.record));
        appendAll(took, group.map((g) => g.index));
      } catch (error) {
        for (const g of group) outcomes[g.index].errors.push(`${storePath}: ${describeStoreError(error)}`);
      }
    });
    try {
      await store.flush();
      for (const i of took) outcomes[i].written++;
    } catch (error) {
      for (const i of took) outcomes[i].errors.push(`${storePath}: ${describeStoreError(error)}`);
    }
  }));
  return outcomes;
}

/** Items grouped by the catalog bucket of their record's name (one segment each). */
function bucketGroups<T extends { record: CatalogRecord }>(items: readonly T[]): T[][] {
  const byBucket = new Map<string, T[]>();
  for (const item of items) {
    const bucket = nameHash(item.record.name).slice(0, 2);
    const list = byBucket.get(bucket) ?? [];
    list.push(item);
    byBucket.set(bucket, list);
  }
  return [...byBucket.values()];
}

/** Drops record files of `name` older than `sequence` (after a newer version committed). */
export async function dropOlderRecords(storePaths: readonly string[], name: string, sequence: bigint): Promise<void> {
  await dropOlderRecordsOf(storePaths, [{ name, sequence }]);
}

/** dropOlderRecords for many names: each store's catalog bucket is listed once for all of them. */
export async function dropOlderRecordsOf(storePaths: readonly string[], newest: readonly { name: string; sequence: bigint }[]): Promise<void> {
  if (newest.length === 0) return;
  const names = newest.map((n) => n.name);
  const keep = new Map(newest.map((n) => [n.name, n.sequence]));
  await Promise.all(storePaths.map(async (storePath) => {
    const store = storeAt(storePath);
    const versions = await store.listRecordVersionsOf(names).catch(() => new Map<string, bigint[]>());
    for (const [name, sequences] of versions) {
      const current = keep.get(name);
      if (current === undefined) continue;
      for (const older of sequences) {
        if (older < current) await store.removeCatalogRecord(name, older).catch(() => undefined);
      }
    }
  }));
}

/**
 * Brings every writable store's catalog up to the newest version of every name (tombstones
 * included), so metadata is again on every store after a store was away, emptied or replaced.
 * Every record file is read once: a writable store's own newest versions come from the same scan
 * that built the merged view. Returns how many copies were written and the view with its copy
 * counts brought up to date (for collectTombstones).
 */
export async function refreshCatalogCopies(
  readablePaths: readonly string[], writablePaths: readonly string[], segments: boolean, scope?: CatalogScope,
): Promise<{ written: number; view: CatalogView }> {
  const { view, own } = await foldCatalogs(readablePaths, { only: scope, countCopies: true, ownOf: writablePaths });
  const copies = new Map(view.copies);
  let written = 0;
  for (const storePath of writablePaths) {
    try {
      const index = readablePaths.indexOf(storePath);
      const store = storeAt(storePath);
      const ownNewest = (index >= 0 ? own[index] : undefined) ?? newestOf(await store.scanCatalog(scope));
      // Behind: an older version, or the original of a version a repack moved (compareVersions).
      const missing = [...view.records.values()].filter((record) => {
        const have = ownNewest.get(record.name);
        return have === undefined || compareVersions(have, record) < 0;
      });
      // One segment per bucket: a store rebuilt from empty gets a few hundred catalog files, not one per name.
      const copiedHere: string[] = [];
      const items = missing.map((record) => ({ record }));
      for (const group of segments ? bucketGroups(items) : items.map((item) => [item])) {
        await store.writeCatalogRecords(group.map((g) => g.record));
        appendAll(copiedHere, group.map((g) => g.record.name));
        written += group.length;
      }
      await store.flush();
      for (const name of copiedHere) copies.set(name, (copies.get(name) ?? 0) + 1);
    } catch {
      // This store went away mid-way; it stays behind and the next check brings it up to date.
    }
  }
  return { written, view: { ...view, copies } };
}

function newestOf(scan: CatalogScan): Map<string, VersionKey> {
  return new Map(scan.records.map((r) => [r.name, versionKeyOf(r)]));
}
