import { decodeCatalogRecord, encodeCatalogRecord, type CatalogRecord } from './catalog-record.js';
import { isRecord, sealJson, unsealJson } from './sealed-json.js';

export const CATALOG_SEGMENT_FORMAT = 'rain-catalog-segment/1';

/**
 * A catalog segment holds many records of one catalog bucket in one file (docs/FORMAT.md §4):
 * a sealed header line, then one sealed record per line, each line checked on its own, so a
 * damaged line costs that one copy of one record and the rest of the segment still reads.
 * Segments are what lets a put of many files commit them in one file per bucket and store.
 */
export interface CatalogSegment {
  /** Two lowercase hex digits: every record's name hash starts with them. */
  readonly bucket: string;
  readonly records: readonly CatalogRecord[];
}

export interface DecodedSegment {
  readonly bucket: string;
  readonly records: CatalogRecord[];
  /** Lines that did not decode, or belong to another bucket, or are missing (a short file). */
  readonly damagedLines: number;
}

/** The first line of a segment of `recordCount` records of `bucket`. */
export function encodeCatalogSegmentHeader(bucket: string, recordCount: number): string {
  if (!/^[0-9a-f]{2}$/.test(bucket)) throw new Error(`refusing to write a catalog segment for bucket '${bucket}'`);
  if (!Number.isSafeInteger(recordCount) || recordCount < 1) throw new Error('refusing to write an empty catalog segment');
  return sealJson({ format: CATALOG_SEGMENT_FORMAT, bucket, records: recordCount });
}

/** Sealed JSON never holds a raw newline (JSON escapes it), so lines frame the records. */
export function encodeCatalogSegment(segment: CatalogSegment, hashOf: (name: string) => string): string {
  const lines = [encodeCatalogSegmentHeader(segment.bucket, segment.records.length)];
  for (const record of segment.records) {
    if (!hashOf(record.name).startsWith(segment.bucket)) throw new Error(`record of '${record.name}' does not belong to catalog bucket ${segment.bucket}`);
    lines.push(encodeCatalogRecord(record));
  }
  return lines.join('');
}

export type RecordLineDecoder = (line: string) => ReturnType<typeof decodeCatalogRecord>;

/**
 * undefined when the header does not decode: then nothing in the file is believed. `decodeLine`
 * lets a caller that reads the same lines from every store decode each text once.
 */
export function decodeCatalogSegment(
  text: string, hashOf: (name: string) => string, decodeLine: RecordLineDecoder = decodeCatalogRecord,
): DecodedSegment | undefined {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) return undefined;
  const header = unsealJson(lines[0]);
  if (!header.ok || !isRecord(header.body) || header.body.format !== CATALOG_SEGMENT_FORMAT) return undefined;
  const bucket = header.body.bucket;
  const count = header.body.records;
  if (typeof bucket !== 'string' || !/^[0-9a-f]{2}$/.test(bucket) || !Number.isSafeInteger(count) || Number(count) < 1) return undefined;
  const records: CatalogRecord[] = [];
  // A segment is never appended to: lines past the count are not part of it.
  let damagedLines = Math.abs(Number(count) - (lines.length - 1));
  for (const line of lines.slice(1, 1 + Number(count))) {
    const decoded = decodeLine(line);
    if (decoded.ok && hashOf(decoded.record.name).startsWith(bucket)) records.push(decoded.record);
    else damagedLines++;
  }
  return { bucket, records, damagedLines };
}
