import fsSync from 'node:fs';
import path from 'node:path';
import { compareVersions, decodeCatalogRecord, type CatalogRecord } from '../format/catalog-record.js';
import {
  compareCatalogNames, decodeCatalogSegment, encodeCatalogSegmentHeader, lookUpInSegment, segmentContentId,
} from '../format/catalog-segment.js';
import { errnoCode } from '../rain-error.js';
import { decodeSegmentOnce, sealed } from './catalog-memo.js';
import { DirectorySync, writeFileDurably } from './durable-file.js';
import { openForReading, readdirOrEmpty, readSmallFile, removeFileInStore } from './guarded-fs.js';
import {
  CATALOG_DIR, catalogRecordPath, catalogSegmentPath, isCatalogSegmentFileName, nameHash, parseCatalogFileName,
} from './store-layout.js';
import { appendAll } from '../format/append-all.js';

/** Without `sync` (a call from another process or host) the record is durable on return. */
export async function writeCatalogRecord(storePath: string, record: CatalogRecord, sync?: DirectorySync): Promise<void> {
  const pending = sync ?? new DirectorySync();
  await writeFileDurably(storePath, catalogRecordPath(storePath, record.name, record.sequence), [sealed(record).bytes], pending);
  if (!sync) await pending.flush();
}

/**
 * Writes many records at once (durable at flush()): one segment file per catalog bucket they fall
 * in (docs/FORMAT.md §4), so a put of thousands of files costs a few hundred catalog files per
 * store instead of one per file. A bucket with a single record gets a plain record file.
 */
export async function writeCatalogRecords(storePath: string, records: readonly CatalogRecord[], sync: DirectorySync): Promise<void> {
  const byBucket = new Map<string, CatalogRecord[]>();
  for (const record of records) {
    const { bucket } = sealed(record);
    const list = byBucket.get(bucket) ?? [];
    list.push(record);
    byBucket.set(bucket, list);
  }
  for (const [bucket, list] of byBucket) {
    // A packed record is never a plain file: a repack's moved copy (docs/FORMAT.md §5.1) has the
    // sequence of the original, and scans skip plain files at a sequence they already hold.
    if (list.length === 1 && (list[0].pack === undefined || list[0].deleted)) {
      await writeCatalogRecord(storePath, list[0], sync);
      continue;
    }
    // The segment is its header line and the records' sealed lines in name order, named by its
    // content: every store gets the same bytes under the same name (§4.1).
    const ordered = [...list].sort((a, b) => compareCatalogNames(a.name, b.name));
    const chunks = [Buffer.from(encodeCatalogSegmentHeader(bucket, ordered.length), 'utf8'), ...ordered.map((r) => sealed(r).bytes)];
    await writeFileDurably(storePath, catalogSegmentPath(storePath, bucket, segmentContentId(chunks)), chunks, sync);
  }
}

export interface CatalogScan {
  /** The newest readable record of every name this store knows. */
  readonly records: CatalogRecord[];
  /** Record files that exist but do not decode (torn, bit-flipped, foreign). */
  readonly unreadable: string[];
  /** Content-named segments ("HH/<file>") read with every line intact: another store's same-named copy holds nothing more. */
  readonly cleanSegments?: string[];
}

/**
 * What a catalog scan reads: every name (undefined), one name or some names, or every name of some
 * catalog buckets ("HH", the first two hex digits of the name hash: a check's catalog upkeep walks
 * the catalog one bucket at a time, so its memory is a bucket's, not the pool's).
 */
export type CatalogScope = string | readonly string[] | { readonly buckets: readonly string[] };

const BUCKET_NAME = /^[0-9a-f]{2}$/;

/**
 * Reads the newest valid version of each name; older files of a name are not opened at all.
 * `only` narrows the scan to some names: just their buckets are listed, each once however many of
 * the names share it, and only their record files are read; or to whole buckets. `newerThan` (name hash -> sequence,
 * what the caller already holds from another store) skips every file at or below that sequence:
 * the listing alone shows the store has nothing newer, so it is not opened.
 */
export async function scanCatalog(
  storePath: string, only?: CatalogScope, newerThan?: ReadonlyMap<string, bigint>, skipSegments?: ReadonlySet<string>,
): Promise<CatalogScan> {
  const cleanSegments: string[] = [];
  const byHash = new Map<string, { sequence: bigint; file: string }[]>();
  // The newest segment-held record of each wanted name: a plain record file must beat it to count.
  const fromSegments = new Map<string, CatalogRecord>();
  const unreadable: string[] = [];
  const scopeBuckets = only !== undefined && typeof only !== 'string' && 'buckets' in only ? only.buckets : undefined;
  // A bucket name becomes a path below the store: one from a caller over the wire is checked first.
  if (scopeBuckets?.some((bucket) => !BUCKET_NAME.test(bucket))) throw new RangeError(`catalog buckets are two hex digits, not ${JSON.stringify(scopeBuckets)}`);
  const onlyNames = only === undefined || scopeBuckets ? undefined : typeof only === 'string' ? [only] : only as readonly string[];
  const wantedHashes = onlyNames ? new Set(onlyNames.map(nameHash)) : undefined;
  // A lookup of a few names in big buckets decodes their lines, not the buckets' (decodeCatalogSegment).
  const keepNames = onlyNames ? new Set(onlyNames) : undefined;
  const buckets = scopeBuckets ?? (wantedHashes ? [...new Set([...wantedHashes].map((h) => h.slice(0, 2)))] : readdirOrEmpty(path.join(storePath, CATALOG_DIR)));
  for (const bucket of buckets) {
    const dir = path.join(storePath, CATALOG_DIR, bucket);
    // A caller that skips segments it has read reads each segment once: nothing to remember them for.
    const listing = listBucketWithSegments(storePath, dir, skipSegments && ((segment) => skipSegments.has(`${bucket}/${segment}`)), keepNames, skipSegments === undefined);
    appendAll(unreadable, listing.unreadable);
    appendAll(cleanSegments, listing.cleanOrdered.map((segment) => `${bucket}/${segment}`));
    for (const record of listing.segmentRecords) {
      const hash = nameHash(record.name);
      if (wantedHashes && !wantedHashes.has(hash)) continue;
      const held = newerThan?.get(hash);
      if (held !== undefined && record.sequence <= held) continue;
      const before = fromSegments.get(hash);
      if (!before || compareVersions(record, before) > 0) fromSegments.set(hash, record);
    }
    for (const file of listing.files) {
      const parsed = parseCatalogFileName(file);
      if (!parsed || (wantedHashes && !wantedHashes.has(parsed.nameHash))) continue;
      const held = newerThan?.get(parsed.nameHash);
      if (held !== undefined && parsed.sequence <= held) continue;
      const list = byHash.get(parsed.nameHash) ?? [];
      list.push({ sequence: parsed.sequence, file: path.join(dir, file) });
      byHash.set(parsed.nameHash, list);
    }
  }
  const records: CatalogRecord[] = [];
  for (const [hash, listed] of byHash) {
    let inSegment = fromSegments.get(hash);
    fromSegments.delete(hash);
    let versions = listed.filter((v) => !inSegment || v.sequence > inSegment.sequence);
    // A version that vanished between the listing and the read was dropped because a newer one
    // committed (a concurrent put or rm): list the name's bucket again instead of losing the name.
    for (let attempt = 1; ; attempt++) {
      const outcome = versions.length === 0 ? { kind: 'none' as const, unreadable: [] } : await newestReadable(storePath, hash, versions);
      if (outcome.kind !== 'vanished' || attempt === VANISHED_RETRIES) {
        if (outcome.kind === 'record') records.push(outcome.record);
        else if (inSegment) records.push(inSegment);
        appendAll(unreadable, outcome.unreadable);
        break;
      }
      const held = newerThan?.get(hash);
      // Or a check folded it into a new segment (compactCatalog): the bucket's segments are read again too.
      for (const record of listBucketWithSegments(storePath, path.join(storePath, CATALOG_DIR, hash.slice(0, 2))).segmentRecords) {
        if (nameHash(record.name) !== hash || (held !== undefined && record.sequence <= held)) continue;
        if (!inSegment || compareVersions(record, inSegment) > 0) inSegment = record;
      }
      const segmentHeld = inSegment;
      versions = (await versionsOf(storePath, hash)).filter((v) => (held === undefined || v.sequence > held) && (!segmentHeld || v.sequence > segmentHeld.sequence));
    }
  }
  appendAll(records, fromSegments.values());
  return { records, unreadable, cleanSegments };
}

export interface BucketListing {
  /** The bucket's file names (record files and segments alike). */
  readonly files: string[];
  /** Every record that decodes in the bucket's segments (several versions of a name possible). */
  readonly segmentRecords: CatalogRecord[];
  /** Segment files, or lines of them, that do not decode. */
  readonly unreadable: string[];
  /** The segment files read, by name. */
  readonly segments: string[];
  /** Segments not written in name order under their content id (an older rain's): a check rewrites them. */
  readonly unordered: number;
  /** Content-named (ordered) segments whose every line decoded. */
  readonly cleanOrdered: string[];
}

/**
 * Lists a bucket and reads its segments. A segment that vanished between the listing and the
 * read was merged into a new one by a check (compactCatalog): the bucket is listed again, so the
 * new segment is read instead.
 */
export function listBucketWithSegments(
  storePath: string, dir: string, skip?: (segment: string) => boolean, keep?: ReadonlySet<string>, remember = true,
): BucketListing {
  for (let attempt = 1; ; attempt++) {
    const files = readdirOrEmpty(dir);
    const segments = files.filter((file) => isCatalogSegmentFileName(file) && !skip?.(file));
    const cleanOrdered: string[] = [];
    const segmentRecords: CatalogRecord[] = [];
    const unreadable: string[] = [];
    let unordered = 0;
    let vanished = false;
    for (const segment of segments) {
      const file = path.join(dir, segment);
      const read = readSegmentFile(storePath, file, keep, remember);
      if (read === 'vanished') {
        vanished = true;
        break;
      }
      if (!read) {
        unreadable.push(file);
        continue;
      }
      appendAll(segmentRecords, read.records);
      if (!read.ordered) unordered++;
      else if (read.damagedLines === 0) cleanOrdered.push(segment);
      if (read.damagedLines > 0) unreadable.push(`${file} (${read.damagedLines} damaged lines)`);
    }
    if (!vanished || attempt === VANISHED_RETRIES) return { files, segmentRecords, unreadable, segments, unordered, cleanOrdered };
  }
}

/** The largest segment rain reads (a bucket of a pool of tens of millions of names); longer is not a segment. */
const MAX_SEGMENT_BYTES = 1024 * 1024 * 1024;

/**
 * A whole segment decoded (each line judged on its own); undefined when its header does not decode.
 * With `keep`, only the lines of those names are decoded (decodeCatalogSegment). With `remember`,
 * the decoded segment is kept for the same bytes on the next store (decodeSegmentOnce): only for a
 * reader of every store's copy, since keeping decoded records alive costs every other reader (V8
 * then allocates records in the old generation: 12 against 5 us a record line).
 */
export function readSegmentFile(
  storePath: string, file: string, keep?: ReadonlySet<string>, remember = false,
): ReturnType<typeof decodeCatalogSegment> | 'vanished' {
  try {
    const whole = readSmallFile(storePath, file, MAX_SEGMENT_BYTES);
    if (whole === undefined) return 'vanished';
    if (!keep) return remember ? decodeSegmentOnce(whole) : decodeCatalogSegment(whole, nameHash);
    return lookUpInSegment(whole, path.basename(file).slice(0, -'.seg'.length), keep, nameHash)
      ?? decodeCatalogSegment(whole, nameHash, decodeCatalogRecord, keep);
  } catch (error) {
    return errnoCode(error) === 'ENOENT' ? 'vanished' : undefined;
  }
}

/**
 * A segment file's bytes (undefined when it cannot be read or is not a regular file of at most
 * MAX_SEGMENT_BYTES); with `scratch`, possibly a view of it (readSmallFile).
 */
export function readSegmentBytes(storePath: string, file: string, scratch?: Buffer): Buffer | undefined {
  try {
    return readSmallFile(storePath, file, MAX_SEGMENT_BYTES, scratch);
  } catch {
    return undefined;
  }
}

/** How often a scan lists a name again whose record files keep vanishing under it. */
const VANISHED_RETRIES = 5;

type NewestOutcome =
  | { kind: 'record'; record: CatalogRecord; unreadable: string[] }
  | { kind: 'vanished' | 'none'; unreadable: string[] };

/** The newest version that decodes, newest first; stops at one that vanished (ENOENT). */
export function newestReadable(storePath: string, hash: string, versions: readonly { sequence: bigint; file: string }[]): NewestOutcome {
  const sorted = [...versions].sort((a, b) => (a.sequence < b.sequence ? 1 : a.sequence > b.sequence ? -1 : 0));
  const unreadable: string[] = [];
  for (const version of sorted) {
    const read = readRecordFile(storePath, version.file);
    if (read === 'vanished') return { kind: 'vanished', unreadable };
    // A record counts only where its file name says it is: its name's hash and its sequence.
    if (read && read.sequence === version.sequence && nameHash(read.name) === hash) return { kind: 'record', record: read, unreadable };
    unreadable.push(version.file);
  }
  return { kind: 'none', unreadable };
}

async function versionsOf(storePath: string, hash: string): Promise<{ sequence: bigint; file: string }[]> {
  const dir = path.join(storePath, CATALOG_DIR, hash.slice(0, 2));
  const versions: { sequence: bigint; file: string }[] = [];
  for (const file of readdirOrEmpty(dir)) {
    const parsed = parseCatalogFileName(file);
    if (parsed && parsed.nameHash === hash) versions.push({ sequence: parsed.sequence, file: path.join(dir, file) });
  }
  return versions;
}

/** Every version file of one name on this store, newest first (for garbage collection). */
export async function listRecordVersions(storePath: string, name: string): Promise<bigint[]> {
  const hash = nameHash(name);
  const files = readdirOrEmpty(path.join(storePath, CATALOG_DIR, hash.slice(0, 2)));
  const sequences: bigint[] = [];
  for (const file of files) {
    const parsed = parseCatalogFileName(file);
    if (parsed && parsed.nameHash === hash) sequences.push(parsed.sequence);
  }
  return sequences.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
}

/** listRecordVersions for many names, listing each catalog bucket once. */
export async function listRecordVersionsOf(storePath: string, names: readonly string[]): Promise<Map<string, bigint[]>> {
  const byHash = new Map(names.map((name) => [nameHash(name), name]));
  const versions = new Map<string, bigint[]>();
  for (const bucket of new Set([...byHash.keys()].map((h) => h.slice(0, 2)))) {
    for (const file of readdirOrEmpty(path.join(storePath, CATALOG_DIR, bucket))) {
      const parsed = parseCatalogFileName(file);
      const name = parsed && byHash.get(parsed.nameHash);
      if (!parsed || name === undefined) continue;
      versions.set(name, [...(versions.get(name) ?? []), parsed.sequence]);
    }
  }
  return versions;
}

export async function removeCatalogRecord(storePath: string, name: string, sequence: bigint): Promise<void> {
  removeFileInStore(storePath, catalogRecordPath(storePath, name, sequence));
}

/** The largest catalog record rain reads: a file of millions of data sets; anything longer is not a record. */
const MAX_RECORD_BYTES = 256 * 1024 * 1024;

function readRecordFile(storePath: string, file: string): CatalogRecord | 'vanished' | undefined {
  try {
    // In this thread: a record is a few hundred bytes, and fs.readFile in the pool is four hand-offs (inline-io.ts).
    const first = decodeCatalogRecord(readWhole(file));
    if (first.ok) return first.record;
    // A record that does not decode is judged on a checked whole-file read (guarded-fs.ts), so a
    // short read can never make it look torn, and a FIFO or device in its place is named as such.
    const whole = readSmallFile(storePath, file, MAX_RECORD_BYTES);
    if (whole === undefined) return 'vanished';
    const again = decodeCatalogRecord(whole.toString('utf8'));
    return again.ok ? again.record : undefined;
  } catch (error) {
    return errnoCode(error) === 'ENOENT' ? 'vanished' : undefined;
  }
}

/** Reused by every record read of this process (reads are synchronous, so never shared at once). */
const recordBuffer = Buffer.allocUnsafe(64 * 1024);

/**
 * open, one read, close: readFileSync reads again to see the end, a fourth system call, and on a
 * paravirtualised guest that is a quarter of reading a catalog (docs/PERFORMANCE.md §5). Opened as
 * guarded-fs.ts opens everything in a store: a FIFO reads as empty here instead of hanging.
 */
function readWhole(file: string): string {
  const fd = openForReading(file);
  let bytesRead: number;
  try {
    bytesRead = fsSync.readSync(fd, recordBuffer, 0, recordBuffer.length, 0);
  } finally {
    fsSync.closeSync(fd);
  }
  // A record this large (a file of many thousands of data sets) is decoded from the checked whole-file read.
  return bytesRead < recordBuffer.length ? recordBuffer.toString('utf8', 0, bytesRead) : '';
}

