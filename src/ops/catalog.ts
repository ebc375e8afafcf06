import path from 'node:path';
import { newestRecord, type CatalogRecord } from '../format/catalog-record.js';
import { DirectorySync } from '../store/durable-file.js';
import { listRecordVersions, listRecordVersionsOf, removeCatalogRecord, scanCatalog, writeCatalogRecord, type CatalogScan } from '../store/catalog-files.js';
import { nameHash, parseCatalogFileName } from '../store/store-layout.js';
import { forEachBounded } from './for-each-bounded.js';

export interface CatalogView {
  /** Newest record per name (tombstones included), gathered from every readable store. */
  readonly records: Map<string, CatalogRecord>;
  /** How many stores hold the newest version of each name (fewer than all: rebuild refreshes). */
  readonly copies: Map<string, number>;
  readonly unreadableFiles: string[];
}

/**
 * Merges the catalogs of the given stores; the highest sequence of each name wins. `only` (one
 * name or many) limits the work to those names, so a put of many files looks them all up at once.
 */
export async function readCatalog(storePaths: readonly string[], only?: string | readonly string[]): Promise<CatalogView> {
  return (await readCatalogAndScans(storePaths, only)).view;
}

/** readCatalog, with each store's own scan kept (undefined where the store could not be scanned). */
async function readCatalogAndScans(
  storePaths: readonly string[], only?: string | readonly string[],
): Promise<{ view: CatalogView; scans: (CatalogScan | undefined)[] }> {
  const scans = await Promise.all(storePaths.map((p) => scanCatalog(p, only).catch(() => undefined)));
  const byName = new Map<string, CatalogRecord[]>();
  for (const scan of scans) {
    for (const record of scan?.records ?? []) byName.set(record.name, [...(byName.get(record.name) ?? []), record]);
  }
  const records = new Map<string, CatalogRecord>();
  const copies = new Map<string, number>();
  for (const [name, versions] of byName) {
    const newest = newestRecord(versions);
    if (!newest) continue;
    records.set(name, newest);
    copies.set(name, versions.filter((v) => v.sequence === newest.sequence).length);
  }
  return { view: { records, copies, unreadableFiles: scans.flatMap((s) => s?.unreadable ?? []) }, scans };
}

/**
 * Unreadable record files whose name no readable record accounts for: a file may be missing from
 * the view. (A record dropped under the scan because a newer one committed is not one of them:
 * scanCatalog lists such a name again.)
 */
export function unaccountedFiles(view: CatalogView): string[] {
  if (view.unreadableFiles.length === 0) return [];
  const known = new Set([...view.records.keys()].map(nameHash));
  return view.unreadableFiles.filter((file) => {
    const parsed = parseCatalogFileName(path.basename(file));
    return parsed !== undefined && !known.has(parsed.nameHash);
  });
}

/** Live (not deleted) records, sorted by name. */
export function liveRecords(view: CatalogView): CatalogRecord[] {
  return [...view.records.values()].filter((r) => !r.deleted).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The commit point of a put or rm: the record is written durably to every writable store, in
 * parallel. Returns how many stores took it; the caller decides whether that is enough.
 */
export async function commitRecord(storePaths: readonly string[], record: CatalogRecord): Promise<{ written: number; errors: string[] }> {
  return (await commitRecords(storePaths, [record]))[0];
}

/** Record files written at once per store: enough for the file system to group their fsyncs. */
const RECORDS_IN_FLIGHT_PER_STORE = 32;

/**
 * Commits many records (each its own commit point, as commitRecord) with one directory fsync per
 * store and catalog bucket for the lot instead of one per record, and their file fsyncs in
 * parallel. Each record is still written to tmp/, fsynced and renamed; none is reported written
 * before its rename is durable. Returns, per record, how many stores took it.
 */
export async function commitRecords(
  storePaths: readonly string[], records: readonly CatalogRecord[],
): Promise<{ written: number; errors: string[] }[]> {
  const outcomes = records.map(() => ({ written: 0, errors: [] as string[] }));
  await Promise.all(storePaths.map(async (storePath) => {
    const sync = new DirectorySync();
    const took: number[] = [];
    await forEachBounded(records, RECORDS_IN_FLIGHT_PER_STORE, async (record, i) => {
      try {
        await writeCatalogRecord(storePath, record, sync);
        took.push(i);
      } catch (error) {
        outcomes[i].errors.push(`${storePath}: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    try {
      await sync.flush();
      for (const i of took) outcomes[i].written++;
    } catch (error) {
      for (const i of took) outcomes[i].errors.push(`${storePath}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }));
  return outcomes;
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
    const versions = await listRecordVersionsOf(storePath, names).catch(() => new Map<string, bigint[]>());
    for (const [name, sequences] of versions) {
      const current = keep.get(name);
      if (current === undefined) continue;
      for (const older of sequences) {
        if (older < current) await removeCatalogRecord(storePath, name, older).catch(() => undefined);
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
  readablePaths: readonly string[], writablePaths: readonly string[],
): Promise<{ written: number; view: CatalogView }> {
  const { view, scans } = await readCatalogAndScans(readablePaths);
  const copies = new Map(view.copies);
  let written = 0;
  for (const storePath of writablePaths) {
    try {
      const index = readablePaths.indexOf(storePath);
      const own = (index >= 0 ? scans[index] : undefined) ?? await scanCatalog(storePath);
      const ownNewest = new Map(own.records.map((r) => [r.name, r.sequence]));
      const sync = new DirectorySync();
      const copiedHere: string[] = [];
      for (const record of view.records.values()) {
        const have = ownNewest.get(record.name);
        if (have !== undefined && have >= record.sequence) continue;
        await writeCatalogRecord(storePath, record, sync);
        copiedHere.push(record.name);
        written++;
      }
      await sync.flush();
      for (const name of copiedHere) copies.set(name, (copies.get(name) ?? 0) + 1);
    } catch {
      // This store went away mid-way; it stays behind and the next check brings it up to date.
    }
  }
  return { written, view: { ...view, copies } };
}

/**
 * A tombstone can go once every store of the pool holds it (no store can bring back an older
 * record) and the deleted file's blocks were collected; both hold after a full check with every
 * store present. Returns how many names' tombstones were removed. `known` is a view of all
 * these stores just taken (refreshCatalogCopies'); without it the catalog is read again.
 */
export async function collectTombstones(allStorePaths: readonly string[], known?: CatalogView): Promise<number> {
  const view = known ?? await readCatalog(allStorePaths);
  let collected = 0;
  for (const record of view.records.values()) {
    if (!record.deleted || view.copies.get(record.name) !== allStorePaths.length) continue;
    await Promise.all(allStorePaths.map(async (storePath) => {
      for (const sequence of await listRecordVersions(storePath, record.name)) {
        if (sequence <= record.sequence) await removeCatalogRecord(storePath, record.name, sequence);
      }
    }));
    collected++;
  }
  return collected;
}
