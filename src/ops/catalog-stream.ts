import path from 'node:path';
import { compareVersions, type CatalogRecord } from '../format/catalog-record.js';
import { compareCatalogNames } from '../format/catalog-segment.js';
import { mergeRuns } from './merged-runs.js';
import { newestPlainRecords } from '../store/catalog-compaction.js';
import { readSegmentFile } from '../store/catalog-files.js';
import { ArrayRun, SegmentRun, type RecordRun, type ReopenedCopies, type RunDamage } from '../store/catalog-runs.js';
import { readdirOrEmpty } from '../store/guarded-fs.js';
import { storeAt } from '../store/store-set.js';
import { CATALOG_DIR, isCatalogSegmentFileName, nameHash, parseCatalogFileName } from '../store/store-layout.js';
import { appendAll } from '../format/append-all.js';
import { openDescriptorLimit } from '../store/descriptor-limit.js';

/**
 * Segment runs that hold a descriptor each where the process's descriptor limit is not known. A
 * catalog a check merged has one segment per bucket (256) plus those of the commits since; a put -r
 * of 1,000,000 files in commits of 16,384 leaves 62 segments per bucket, 15,872 runs. Past the
 * limit each run opens its file again for each chunk. Half of the common soft limit of 1,024
 * descriptors per process: a run that cannot open its segment (EMFILE) would count it as
 * unreadable and leave its names out of the listing.
 */
export const MAX_OPEN_SEGMENTS = 512;
/** Descriptors a listing leaves to everything else the process opens while it holds its runs'. */
const DESCRIPTORS_KEPT_FREE = 1024;
/** Segment runs merged at most; past this the caller reads the catalog whole, as before (docs/DECISIONS.md D5). */
export const MAX_STREAMED_SEGMENTS = 32768;

/**
 * Runs that may hold a descriptor each: the process's limit less those kept free, at least
 * MAX_OPEN_SEGMENTS. Opening each run's segment again for each of its chunks was a fifth of a
 * listing of 1,000,000 files (15,871 segments, 170,000 opens and closes: 3.4 s of 22 s).
 */
export function openSegmentsAllowed(limit: number | undefined): number {
  return limit === undefined ? MAX_OPEN_SEGMENTS : Math.max(MAX_OPEN_SEGMENTS, limit - DESCRIPTORS_KEPT_FREE);
}

/** Bytes of all runs' chunks together while each run can have 16 KiB or more. */
const CHUNK_BUDGET_BYTES = 32 * 1024 * 1024;
const MAX_CHUNK_BYTES = 256 * 1024;
const MIN_CHUNK_BYTES = 16 * 1024;
/**
 * Past 2,048 runs they get smaller chunks from a larger budget: 15,872 runs of 4 KiB (about six
 * records of a small file) are 64 MiB. Each chunk is a read (and in reopen mode an open, ~10 us on
 * tmpfs: 170,000 for a 700 MB catalog).
 */
const MANY_RUNS_CHUNK_BUDGET_BYTES = 64 * 1024 * 1024;
const MIN_MANY_RUNS_CHUNK_BYTES = 2 * 1024;

/** The chunk each of `runCount` runs reads at a time. */
export function chunkBytesFor(runCount: number): number {
  if (runCount * MIN_CHUNK_BYTES <= CHUNK_BUDGET_BYTES) return Math.min(MAX_CHUNK_BYTES, Math.floor(CHUNK_BUDGET_BYTES / Math.max(1, runCount)));
  return Math.max(MIN_MANY_RUNS_CHUNK_BYTES, Math.min(MIN_CHUNK_BYTES, Math.floor(MANY_RUNS_CHUNK_BUDGET_BYTES / runCount)));
}

/** How often a bucket whose segments vanish under the listing (merged by a concurrent check) is listed again. */
const RELIST_ATTEMPTS = 5;

export interface CatalogStream {
  /** The newest record of every name (tombstones included), in name order (compareCatalogNames). */
  readonly records: Iterable<CatalogRecord>;
  /** Catalog files (or lines of them) that did not decode; filled as the stream goes. */
  readonly unreadable: string[];
}

/**
 * The newest record of every name of the given stores in name order, merged from sorted runs in
 * bounded memory (docs/DECISIONS.md D5): each segment is one run, read a chunk at a time; a
 * segment with the same file name on several stores is the same bytes (content-named, §4.1) and
 * is read once, from the first store that has it, the others kept for a damaged line; plain record
 * files (single commits since the last check) are read first into one sorted run. Past
 * MAX_OPEN_SEGMENTS a run holds no descriptor between chunks (SegmentRun's reopen mode), and a
 * bucket whose every copy of a segment vanished meanwhile (a check merged it) is listed again,
 * the new segments' records past the name being merged joining the merge. undefined when a
 * store is remote or the catalog has more segments than MAX_STREAMED_SEGMENTS: the caller then
 * reads the catalog whole. With `prefix`, segments' records outside it may be left out (they are
 * passed over on their name alone); the caller still filters.
 */
export function streamNewestRecords(
  storePaths: readonly string[], options: { maxSegments?: number; maxOpenSegments?: number; chunkBytes?: number; prefix?: string } = {},
): CatalogStream | undefined {
  const maxSegments = options.maxSegments ?? MAX_STREAMED_SEGMENTS;
  if (storePaths.some((storePath) => storeAt(storePath).remote)) return undefined;
  const unreadable: string[] = [];
  const catalogDirs = storePaths.map((storePath) => path.join(storePath, CATALOG_DIR));
  // Bucket -> segment file name -> the stores holding a file of that name, in store order. Paths
  // and copies are made when a segment is opened: 15,871 segments on six stores listed as keyed
  // copies with their paths were 95,000 objects before the first line.
  const segments = new Map<string, Map<string, number[]>>();
  let segmentCount = 0;
  const listedIn = (bucket: string): Map<string, number[]> => {
    let listed = segments.get(bucket);
    if (listed === undefined) segments.set(bucket, (listed = new Map()));
    return listed;
  };
  const copyAt = (bucket: string, file: string) => (s: number): SegmentCopy => ({ storePath: storePaths[s], file: `${catalogDirs[s]}/${bucket}/${file}` });
  const plain = new Map<string, CatalogRecord>();
  // Name hash -> newest plain sequence listed, so other stores' copies at or below it are not opened.
  const heldPlain = new Map<string, bigint>();
  const relistBuckets = new Set<string>();
  /** Reads the plain record files newer than those read before; true when one vanished under the listing. */
  const readPlainFiles = (storePath: string, dir: string, files: readonly string[]): boolean => {
    const plainFiles = files.filter((file) => {
      const parsed = parseCatalogFileName(file);
      return parsed !== undefined && parsed.sequence > (heldPlain.get(parsed.nameHash) ?? -1n);
    });
    if (plainFiles.length === 0) return false;
    const read = newestPlainRecords(storePath, dir, plainFiles);
    appendAll(unreadable, read.unreadable);
    for (const record of read.records) {
      const before = plain.get(record.name);
      if (!before || compareVersions(record, before) > 0) plain.set(record.name, record);
      // Only a record that decoded lets other stores' older files go unread: a damaged one must not hide them.
      const hash = nameHash(record.name);
      if (record.sequence > (heldPlain.get(hash) ?? -1n)) heldPlain.set(hash, record.sequence);
    }
    return read.vanished;
  };
  for (let s = 0; s < storePaths.length; s++) {
    const storePath = storePaths[s];
    for (const bucket of readdirOrEmpty(catalogDirs[s]).filter((b) => /^[0-9a-f]{2}$/.test(b))) {
      const dir = `${catalogDirs[s]}/${bucket}`;
      const files = readdirOrEmpty(dir);
      const listed = listedIn(bucket);
      for (const file of files) {
        if (!isCatalogSegmentFileName(file)) continue;
        const stores = listed.get(file);
        if (stores !== undefined) stores.push(s);
        else {
          listed.set(file, [s]);
          segmentCount++;
        }
      }
      if (segmentCount > maxSegments) return undefined;
      // A record file gone under the listing: a newer version replaced it, or a check folded it into a new segment.
      if (readPlainFiles(storePath, dir, files)) relistBuckets.add(bucket);
    }
  }
  const reopened = segmentCount > (options.maxOpenSegments ?? openSegmentsAllowed(openDescriptorLimit()));
  const chunkBytes = options.chunkBytes ?? chunkBytesFor(segmentCount);
  // One allocation for every run's first chunk storage (15,871 separate ones cost 0.24 s before the first line).
  const slab = Buffer.allocUnsafeSlow(chunkBytes * segmentCount);
  let slabUsed = 0;
  const storage = (): Buffer | undefined => {
    if (slabUsed + chunkBytes > slab.length) return undefined;
    slabUsed += chunkBytes;
    return slab.subarray(slabUsed - chunkBytes, slabUsed);
  };
  const pending: RecordRun[] = [];
  const runs: RecordRun[] = [];
  /** Records of `bucket`'s segments not listed before, past `after`, as one sorted run: what a check's merge put in place of vanished ones. */
  const relistAfter = (bucket: string, after: string | undefined): void => {
    const found: CatalogRecord[] = [];
    const listed = listedIn(bucket);
    for (let s = 0; s < storePaths.length; s++) {
      const storePath = storePaths[s];
      const dir = `${catalogDirs[s]}/${bucket}`;
      for (const file of readdirOrEmpty(dir).filter(isCatalogSegmentFileName)) {
        if (listed.has(file)) continue;
        const read = readSegmentFile(storePath, path.join(dir, file));
        if (read === 'vanished') continue;
        listed.set(file, [s]);
        if (read === undefined) {
          unreadable.push(path.join(dir, file));
          continue;
        }
        for (const record of read.records) if (after === undefined || compareCatalogNames(record.name, after) > 0) found.push(record);
      }
    }
    if (found.length > 0) pending.push(new ArrayRun(found.sort((a, b) => compareCatalogNames(a.name, b.name))));
  };
  const open = (bucket: string, file: string, stores: readonly number[]): RecordRun | 'vanished' | undefined => {
    // The copies the first open does not use are the spares for a damaged line.
    const copyOf = copyAt(bucket, file);
    const spares = new SegmentCopies(stores, copyOf);
    // A damaged line: the same segment on another store holds it; that copy's records past the damage join the merge.
    const onDamage = (damage: RunDamage): void => {
      unreadable.push(`${damage.file} (damaged line)`);
      for (let spare = spares.take(); spare !== undefined; spare = spares.take()) {
        const read = readSegmentFile(spare.storePath, spare.file);
        if (read === 'vanished') continue;
        if (read === undefined) {
          unreadable.push(spare.file);
          continue;
        }
        const after = damage.after;
        pending.push(new ArrayRun(read.records.filter((r) => after === undefined || compareCatalogNames(r.name, after) > 0)
          .sort((a, b) => compareCatalogNames(a.name, b.name))));
        if (read.damagedLines === 0) return;
        // This copy is damaged too (the same line, or another): the next one may hold what both lost.
        unreadable.push(`${spare.file} (${read.damagedLines} damaged lines)`);
      }
    };
    const reopen = reopened ? { files: stores.map((s) => copyOf(s).file), onVanish: (vanished: RunDamage) => relistAfter(bucket, vanished.after) } : undefined;
    return openFirstCopy(spares, chunkBytes, onDamage, unreadable, options.prefix, reopen, storage);
  };
  let vanishedBuckets = relistBuckets;
  for (const [bucket, listed] of segments) {
    for (const [file, stores] of listed) {
      const run = open(bucket, file, stores);
      if (run === 'vanished') vanishedBuckets.add(bucket);
      else if (run) runs.push(run);
    }
  }
  // Every copy of a segment gone: a check merged it into a new one, which this listing missed.
  for (let attempt = 1; vanishedBuckets.size > 0 && attempt <= RELIST_ATTEMPTS; attempt++) {
    const again = new Set<string>();
    for (const bucket of vanishedBuckets) {
      const listed = listedIn(bucket);
      const fresh = new Map<string, number[]>();
      for (let s = 0; s < storePaths.length; s++) {
        const dir = `${catalogDirs[s]}/${bucket}`;
        const files = readdirOrEmpty(dir);
        for (const file of files.filter(isCatalogSegmentFileName)) {
          if (listed.has(file)) continue;
          fresh.set(file, [...(fresh.get(file) ?? []), s]);
        }
        if (readPlainFiles(storePaths[s], dir, files)) again.add(bucket);
      }
      for (const [file, stores] of fresh) {
        listed.set(file, stores);
        const run = open(bucket, file, stores);
        if (run === 'vanished') again.add(bucket);
        else if (run) runs.push(run);
      }
    }
    vanishedBuckets = again;
  }
  runs.push(new ArrayRun([...plain.values()].sort((a, b) => compareCatalogNames(a.name, b.name))));
  return { records: mergeRuns(runs, pending), unreadable };
}

interface SegmentCopy {
  readonly storePath: string;
  readonly file: string;
}

/**
 * The first copy (taken off `copies`) that opens as a run; an older rain's unordered segment is
 * read whole and sorted. The copies left are the spares for a damaged line.
 */
function openFirstCopy(
  copies: SegmentCopies, chunkBytes: number, onDamage: (damage: RunDamage) => void, unreadable: string[], prefix: string | undefined,
  reopen: ReopenedCopies | undefined, storage: () => Buffer | undefined,
): RecordRun | 'vanished' | undefined {
  let vanished = 0;
  for (let copy = copies.take(); copy !== undefined; copy = copies.take()) {
    const opened = SegmentRun.open(copy.file, chunkBytes, onDamage, prefix, reopen, storage());
    if (opened instanceof SegmentRun) return opened;
    if (opened === 'vanished') {
      vanished++;
      continue;
    }
    if (opened === 'damaged') {
      unreadable.push(copy.file);
      continue;
    }
    const read = readSegmentFile(copy.storePath, copy.file);
    if (read === 'vanished') {
      vanished++;
      continue;
    }
    if (read === undefined) {
      unreadable.push(copy.file);
      continue;
    }
    if (read.damagedLines > 0) {
      unreadable.push(`${copy.file} (${read.damagedLines} damaged lines)`);
      // Every record of the other copies joins: the damaged lines' records are among them.
      for (let spare = copies.take(); spare !== undefined; spare = copies.take()) {
        const again = readSegmentFile(spare.storePath, spare.file);
        if (again !== 'vanished' && again !== undefined) appendAll(read.records, again.records);
      }
    }
    return new ArrayRun([...read.records].sort((a, b) => compareCatalogNames(a.name, b.name)));
  }
  return vanished === copies.count ? 'vanished' : undefined;
}

/** A segment's copies in store order, each made when it is first tried. */
class SegmentCopies {
  private taken = 0;
  constructor(private readonly stores: readonly number[], private readonly copyAt: (store: number) => SegmentCopy) {}

  get count(): number {
    return this.stores.length;
  }

  /** The next copy not tried yet, if any. */
  take(): SegmentCopy | undefined {
    return this.taken < this.stores.length ? this.copyAt(this.stores[this.taken++]) : undefined;
  }
}
