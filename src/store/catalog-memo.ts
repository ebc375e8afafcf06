import { crc32 } from 'node:zlib';
import { encodeCatalogRecord, type CatalogRecord } from '../format/catalog-record.js';
import { decodeCatalogSegment } from '../format/catalog-segment.js';
import { nameHash } from './store-layout.js';

/**
 * The catalog's codec work done once per process however many stores hold the same bytes: a
 * commit seals each record once for all stores, and a reader decodes a segment it
 * already decoded from another store's copy only once (docs/PERFORMANCE.md §5.1). Pure memos:
 * the result is what the plain codec gives, and each copy handed out is its own object.
 */

export interface SealedRecord {
  readonly bucket: string;
  /** The record's sealed line, as a plain record file and a segment line hold it. */
  readonly bytes: Buffer;
}

/**
 * A commit writes the same record objects to every store: each is sealed once, not once per store
 * (records are immutable; the map lets go of them with the commit).
 */
const sealedRecords = new WeakMap<CatalogRecord, SealedRecord>();

export function sealed(record: CatalogRecord): SealedRecord {
  let known = sealedRecords.get(record);
  if (known === undefined) {
    known = { bucket: nameHash(record.name).slice(0, 2), bytes: Buffer.from(encodeCatalogRecord(record), 'utf8') };
    sealedRecords.set(record, known);
  }
  return known;
}

/**
 * A commit writes the same segment bytes to every store (only the file's name differs): a segment
 * whose bytes equal one decoded before decodes the same, so it is neither turned into text nor
 * split again (the UTF-8 decoding of six stores' segments alone cost a get -r of 50,000 files a
 * second). Keyed by length and CRC-32, compared whole on a hit; bounded by the bytes it keeps
 * (4 MiB: a merged bucket at a million files is ~2.7 MB, 690 B a record; its decoded records are not counted).
 */
const recentSegments = new Map<string, { readonly bytes: Buffer; readonly decoded: ReturnType<typeof decodeCatalogSegment> }>();
let recentSegmentBytes = 0;
const RECENT_SEGMENT_BYTES_MAX = 4 * 1024 * 1024;

export function decodeSegmentOnce(whole: Buffer): ReturnType<typeof decodeCatalogSegment> {
  const key = `${whole.length}:${crc32(whole)}`;
  const known = recentSegments.get(key);
  let decoded: ReturnType<typeof decodeCatalogSegment>;
  if (known !== undefined && known.bytes.equals(whole)) {
    decoded = known.decoded;
  } else {
    // Each line is decoded afresh: a memo of recent lines (8,192 decoded records kept alive) cost
    // more in young-generation collections than it saved, 13 against 5 us a record, since the
    // copies on other stores are the same segment bytes and hit this memo instead.
    decoded = decodeCatalogSegment(whole, nameHash);
    if (recentSegmentBytes + whole.length > RECENT_SEGMENT_BYTES_MAX) {
      recentSegments.clear();
      recentSegmentBytes = 0;
    }
    if (whole.length <= RECENT_SEGMENT_BYTES_MAX) {
      recentSegments.set(key, { bytes: whole, decoded });
      recentSegmentBytes += whole.length;
    }
  }
  // Each copy's records are their own objects: callers tell copies on different stores apart by identity.
  return decoded && { ...decoded, records: decoded.records.map((record) => ({ ...record })) };
}
