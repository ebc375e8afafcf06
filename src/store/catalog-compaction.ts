import path from 'node:path';
import { compareVersions, type CatalogRecord } from '../format/catalog-record.js';
import { compareCatalogNames, decodeSegmentHeader, encodeCatalogSegment, segmentContentId } from '../format/catalog-segment.js';
import { listBucketWithSegments, newestReadable, readSegmentBytes, type BucketListing } from './catalog-files.js';
import { appendAll } from '../format/append-all.js';
import { writeFileDurably, type DirectorySync } from './durable-file.js';
import { readdirOrEmpty, removeFileInStore } from './guarded-fs.js';
import { CATALOG_DIR, catalogSegmentPath, nameHash, parseCatalogFileName } from './store-layout.js';

/*
 * A store's catalog compaction (docs/FORMAT.md §4.1): a check merges each bucket's segments and
 * plain record files into one segment in name order. Reading and writing catalog files is
 * catalog-files.ts; this is the one rewriter of them.
 */

export interface CatalogCompaction {
  /** Segment files replaced by merged ones. */
  readonly segmentsMerged: number;
  /** Record copies left out: superseded on this store, damaged lines, or dropped as asked. */
  readonly recordsDropped: number;
}

/**
 * Merges each bucket's segments and plain record files into one segment holding the newest record
 * of each name, leaving out the versions `drop` names (every version of the name at or below the
 * sequence given: a tombstone the check collects). The merged segment is in name order and named
 * by its content, so stores holding the same records hold the same file (§4.1); it is durable
 * before the old segments and the plain files it holds are removed, so a crash leaves both (the
 * same records twice, harmless). Only a check or rebuild calls this, holding the pool's epoch: one
 * rewriter per store at a time, so no segment is rewritten from a copy another rewriter already
 * replaced. A plain file written after the listing is newer than what it merged and stays.
 */
export async function compactCatalog(
  storePath: string, buckets: readonly string[] | undefined, drop: readonly { name: string; sequence: bigint }[], sync: DirectorySync,
): Promise<CatalogCompaction> {
  const dropAtOrBelow = new Map(drop.map((d) => [d.name, d.sequence]));
  const dropBuckets = new Set(drop.map((d) => nameHash(d.name).slice(0, 2)));
  const chosen = buckets ?? readdirOrEmpty(path.join(storePath, CATALOG_DIR)).filter((b) => /^[0-9a-f]{2}$/.test(b));
  let segmentsMerged = 0;
  let recordsDropped = 0;
  for (const bucket of chosen) {
    const dir = path.join(storePath, CATALOG_DIR, bucket);
    const listing = listBucketWithSegments(storePath, dir);
    const plainFiles = listing.files.filter((file) => parseCatalogFileName(file) !== undefined);
    const alreadyOne = listing.segments.length === 1 && listing.unordered === 0 && listing.unreadable.length === 0 && plainFiles.length === 0;
    if ((listing.segments.length === 0 && plainFiles.length === 0) || (alreadyOne && !dropBuckets.has(bucket) && !hasSuperseded(listing))) continue;
    const keep = new Map<string, CatalogRecord>();
    for (const record of [...listing.segmentRecords, ...newestPlainRecords(storePath, dir, plainFiles).records]) {
      const before = keep.get(record.name);
      if (!before || compareVersions(record, before) > 0) keep.set(record.name, record);
    }
    // A plain file that did not decode still says by its name that its version is newer: the
    // older copy is left out of the merge (as before this merged plain files) and the file stays.
    const newestPlain = new Map<string, bigint>();
    for (const file of plainFiles) {
      const parsed = parseCatalogFileName(file);
      if (parsed && parsed.sequence > (newestPlain.get(parsed.nameHash) ?? -1n)) newestPlain.set(parsed.nameHash, parsed.sequence);
    }
    for (const [name, record] of keep) {
      const plain = newestPlain.get(nameHash(name));
      const dropTo = dropAtOrBelow.get(name);
      if ((plain !== undefined && plain > record.sequence) || (dropTo !== undefined && record.sequence <= dropTo)) keep.delete(name);
    }
    const kept = [...keep.values()].sort((a, b) => compareCatalogNames(a.name, b.name));
    let written: string | undefined;
    if (kept.length > 0) {
      const { bytes, id } = mergedSegment(bucket, kept);
      written = `${id}.seg`;
      await writeFileDurably(storePath, catalogSegmentPath(storePath, bucket, id), [bytes], sync);
      await sync.flush();
    }
    // The merged segment may have the name (and so the bytes) of one it replaces: that one stays.
    for (const segment of listing.segments) if (segment !== written) removeFileInStore(storePath, path.join(dir, segment));
    segmentsMerged += listing.segments.length;
    // Plain record files at or below a record the merged segment now holds durably are garbage
    // too (at its sequence: the same record, or the original a repack moved, docs/FORMAT.md §5.1).
    const keptByHash = new Map(kept.map((r) => [nameHash(r.name), r.sequence]));
    let plainRemoved = 0;
    for (const file of plainFiles) {
      const parsed = parseCatalogFileName(file);
      const newer = parsed && keptByHash.get(parsed.nameHash);
      if (parsed && newer !== undefined && newer >= parsed.sequence) {
        removeFileInStore(storePath, path.join(dir, file));
        plainRemoved++;
      }
    }
    // Copies before minus copies after: a plain file's record carried into the merged segment is not dropped.
    recordsDropped += listing.segmentRecords.length + plainRemoved - kept.length;
  }
  await sync.flush();
  return { segmentsMerged, recordsDropped };
}

/**
 * A check merges a bucket on every store in turn, and the stores mostly hold the same records: the
 * merged segment of the store before is used again when this store's merge kept the same records
 * (each the same copy: equal in every member, nested ones shared as the segment memo hands them
 * out), so six stores cost one encoding and one hash, not six (the first check after a put -r of
 * 50,000 files spent 1.7 s encoding).
 */
function mergedSegment(bucket: string, kept: readonly CatalogRecord[]): { readonly bytes: Buffer; readonly id: string } {
  const last = lastMerged;
  if (last !== undefined && last.bucket === bucket && last.kept.length === kept.length && kept.every((record, i) => sameMembers(record, last.kept[i]))) {
    return last;
  }
  const bytes = Buffer.from(encodeCatalogSegment({ bucket, records: kept }, nameHash), 'utf8');
  lastMerged = { bucket, kept, bytes, id: segmentContentId([bytes]) };
  return lastMerged;
}

let lastMerged: { readonly bucket: string; readonly kept: readonly CatalogRecord[]; readonly bytes: Buffer; readonly id: string } | undefined;

function sameMembers(a: CatalogRecord, b: CatalogRecord): boolean {
  if (a === b) return true;
  const keys = Object.keys(a) as (keyof CatalogRecord)[];
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/** The newest record of each name among a bucket's plain record files that decodes where its file name says (newestReadable). */
export function newestPlainRecords(storePath: string, dir: string, plainFiles: readonly string[]): { records: CatalogRecord[]; vanished: boolean; unreadable: string[] } {
  const byHash = new Map<string, { sequence: bigint; file: string }[]>();
  for (const file of plainFiles) {
    const parsed = parseCatalogFileName(file);
    if (!parsed) continue;
    const list = byHash.get(parsed.nameHash) ?? [];
    list.push({ sequence: parsed.sequence, file: path.join(dir, file) });
    byHash.set(parsed.nameHash, list);
  }
  const records: CatalogRecord[] = [];
  const unreadable: string[] = [];
  let vanished = false;
  for (const [hash, versions] of byHash) {
    // A version that vanished was dropped by a writer whose newer one is not in this listing, or
    // folded into a segment by a check: `vanished` tells a reader to list the bucket again.
    const outcome = newestReadable(storePath, hash, versions);
    if (outcome.kind === 'record') records.push(outcome.record);
    if (outcome.kind === 'vanished') vanished = true;
    appendAll(unreadable, outcome.unreadable);
  }
  return { records, vanished, unreadable };
}

/**
 * Whether a lone segment holds anything to leave out: a name twice (one commit writes one version
 * per name; checked anyway) or a name that also has a plain record file (one of the two is older).
 */
function hasSuperseded(listing: BucketListing): boolean {
  const hashes = new Set(listing.segmentRecords.map((r) => nameHash(r.name)));
  if (hashes.size !== listing.segmentRecords.length) return true;
  return listing.files.some((file) => {
    const parsed = parseCatalogFileName(file);
    return parsed !== undefined && hashes.has(parsed.nameHash);
  });
}

/**
 * What a catalog bucket holds when it is settled: nothing ('empty'), or only content-named
 * segments whose bytes hash to their names (their ids, how many, whether they may hold
 * tombstones). undefined otherwise: plain record files, damaged segments, anything else in the
 * bucket. Stores whose answers have the same ids hold identical bytes: a check skips its upkeep of
 * a bucket every store holds as the same one segment (ops/catalog-upkeep.ts), and a reader counting
 * copies decodes one store's (several segments too: a put -r of several batches before the first
 * check), since hashing the copies costs a fraction of decoding them.
 */
export function settledCatalogBucket(storePath: string, bucket: string): SettledBucket | 'empty' | undefined {
  if (!/^[0-9a-f]{2}$/.test(bucket)) throw new RangeError(`catalog buckets are two hex digits, not ${JSON.stringify(bucket)}`);
  const dir = path.join(storePath, CATALOG_DIR, bucket);
  const files = readdirOrEmpty(dir);
  if (files.length === 0) return 'empty';
  if (!files.every((file) => file.endsWith('.seg'))) return undefined;
  if (verified?.bucket !== bucket) verified = { bucket, segments: new Map() };
  const ids: string[] = [];
  let tombstones = false;
  for (const file of [...files].sort()) {
    const id = file.slice(0, -4);
    // The next store's copy of a segment is compared with the copy hashed last, not hashed again
    // (SHA-256 of six copies of a 1,000,000-name catalog cost a check 6.5 s; comparing, a fraction),
    // and read into a lent buffer (fresh buffers for six copies of a 50,000-name catalog cost a
    // verify 0.2 s in page faults).
    const known = verified.segments.get(id);
    const bytes = readSegmentBytes(storePath, path.join(dir, file), known === undefined ? undefined : comparisonBuffer(known.length + 1));
    if (bytes === undefined) return undefined;
    if (known !== undefined && known.equals(bytes)) {
      ids.push(id);
      tombstones ||= known.includes(TOMBSTONE_MEMBER);
      continue;
    }
    const owned = bytes.buffer === comparison?.buffer ? Buffer.from(bytes) : bytes;
    if (segmentContentId([owned]) !== id) return undefined;
    verified.segments.set(id, owned);
    ids.push(id);
    // A tombstone's line has this member as rain encodes it (inside a name a quote is escaped, so a
    // name cannot fake it; a false hit only costs the bucket its full upkeep).
    tombstones ||= owned.includes(TOMBSTONE_MEMBER);
  }
  return { id: ids.join('+'), tombstones, segments: ids.length };
}

export interface SettledBucket {
  /** The segments' content ids (their file names without .seg), in order, joined by '+'. */
  readonly id: string;
  /** Whether a line may be a tombstone (then the bucket gets its full upkeep: a tombstone may be collectable). */
  readonly tombstones: boolean;
  /**
   * How many segments: more than one (a put -r of several batches, not yet merged by a check) is
   * still identical wherever the ids are the same, but a check merges it. Absent from an older rain's answer, which meant one.
   */
  readonly segments?: number;
}

const TOMBSTONE_MEMBER = Buffer.from('"deleted":true');

/**
 * The bytes of segment `id` of the bucket while the bucket is settled and holds it (they hash to
 * it), else undefined: what a check copies to a store that holds nothing of the bucket.
 */
export function settledSegmentBytes(storePath: string, bucket: string, id: string): Buffer | undefined {
  const settled = settledCatalogBucket(storePath, bucket);
  if (settled === undefined || settled === 'empty' || !settled.id.split('+').includes(id)) return undefined;
  // settledCatalogBucket has just read the file and found that its bytes hash to `id`.
  return verified?.bucket === bucket ? verified.segments.get(id) : undefined;
}

/**
 * Writes another store's settled segments of a bucket this store holds nothing of, byte for byte
 * (a store rebuilt from empty or replaced: each segment is the same file on every other store,
 * §4.1, so it is neither decoded nor encoded again). Durable on return. Writes nothing and returns
 * false unless the bucket is empty here and every segment's bytes are a segment of `bucket` that
 * hashes to its id: nothing received is trusted, and a bucket that holds anything gets the full
 * upkeep. A writer committing into the bucket meanwhile is harmless: its record is newer than the
 * segments' copy of the name and wins, as it does beside any segment.
 */
export async function adoptSettledSegments(
  storePath: string, bucket: string, segments: readonly { readonly id: string; readonly bytes: Uint8Array }[], sync: DirectorySync,
): Promise<boolean> {
  if (!/^[0-9a-f]{2}$/.test(bucket)) throw new RangeError(`catalog buckets are two hex digits, not ${JSON.stringify(bucket)}`);
  for (const { id } of segments) if (!/^[0-9a-f]{32}$/.test(id)) throw new RangeError(`segment ids are 32 hex digits, not ${JSON.stringify(id)}`);
  if (segments.length === 0 || readdirOrEmpty(path.join(storePath, CATALOG_DIR, bucket)).length > 0) return false;
  const checked: { id: string; whole: Buffer }[] = [];
  for (const { id, bytes } of segments) {
    const whole = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headerEnd = whole.indexOf(0x0a);
    const header = headerEnd < 0 ? undefined : decodeSegmentHeader(whole.toString('utf8', 0, headerEnd));
    if (header?.bucket !== bucket || !header.ordered || segmentContentId([whole]) !== id) return false;
    checked.push({ id, whole });
  }
  for (const { id, whole } of checked) await writeFileDurably(storePath, catalogSegmentPath(storePath, bucket, id), [whole], sync);
  await sync.flush();
  return true;
}

/** A buffer at least `bytes` long, reused: what another store's copy of a known segment is read into to be compared. */
function comparisonBuffer(bytes: number): Buffer {
  if (comparison === undefined || comparison.length < bytes) comparison = Buffer.allocUnsafeSlow(Math.max(bytes, 256 * 1024));
  return comparison;
}

let comparison: Buffer | undefined;

/** The segments of the bucket read last whose bytes were found to hash to their names (one bucket's, ~1 MB at a million names). */
let verified: { readonly bucket: string; readonly segments: Map<string, Buffer> } | undefined;
