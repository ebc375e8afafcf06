import { isId, parseSequence } from './ids.js';
import { checkFileName } from './file-name.js';
import { isRecord, sealJson, unsealJson } from './sealed-json.js';

export const CATALOG_FORMAT = 'rain-catalog/1';

/**
 * One version of one name. A name's current state is its record with the highest sequence;
 * `deleted` records are tombstones, so a delete is a version too and cannot be undone by a store
 * that was away and still holds the old record.
 */
export interface CatalogRecord {
  readonly name: string;
  readonly fileId: string;
  readonly sequence: bigint;
  readonly deleted: boolean;
  readonly fileSizeBytes: number;
  readonly k: number;
  readonly m: number;
  readonly blockSizeBytes: number;
  readonly datasetCount: number;
  readonly writtenAt: string;
  /**
   * Sequence of each data set when an incremental update (sync) rewrote only some of them;
   * absent when every data set is at `sequence`. Never above `sequence`.
   */
  readonly datasetSequences?: readonly bigint[];
  /** CRC-32 of each data set's file bytes, so sync can tell changed data sets without reading blocks; empty when unknown. */
  readonly datasetChecksums: readonly number[];
}

/** The sequence data set d of this version was written with (and its blocks carry). */
export function datasetSequence(record: Pick<CatalogRecord, 'sequence' | 'datasetSequences'>, datasetIndex: number): bigint {
  return record.datasetSequences?.[datasetIndex] ?? record.sequence;
}

export function encodeCatalogRecord(record: CatalogRecord): string {
  const problem = validateCatalogRecord(record);
  if (problem) throw new Error(`refusing to write an invalid catalog record: ${problem}`);
  const { datasetSequences, ...rest } = record;
  return sealJson({
    format: CATALOG_FORMAT, ...rest, sequence: record.sequence.toString(),
    ...(datasetSequences ? { datasetSequences: datasetSequences.map(String) } : {}),
  });
}

export function decodeCatalogRecord(text: string): { ok: true; record: CatalogRecord } | { ok: false; reason: string } {
  const unsealed = unsealJson(text);
  if (!unsealed.ok) return unsealed;
  const b = unsealed.body;
  if (!isRecord(b) || b.format !== CATALOG_FORMAT) return { ok: false, reason: 'not a rain catalog record' };
  const sequence = parseSequence(String(b.sequence));
  if (sequence === undefined) return { ok: false, reason: 'bad sequence' };
  const record: CatalogRecord = {
    name: String(b.name),
    fileId: String(b.fileId),
    sequence,
    deleted: b.deleted === true,
    fileSizeBytes: Number(b.fileSizeBytes),
    k: Number(b.k),
    m: Number(b.m),
    blockSizeBytes: Number(b.blockSizeBytes),
    datasetCount: Number(b.datasetCount),
    writtenAt: String(b.writtenAt),
    datasetChecksums: Array.isArray(b.datasetChecksums) ? b.datasetChecksums.map(Number) : [],
    ...(Array.isArray(b.datasetSequences) ? { datasetSequences: b.datasetSequences.map((v: unknown) => parseSequence(String(v)) ?? -1n) } : {}),
  };
  const problem = validateCatalogRecord(record);
  return problem ? { ok: false, reason: problem } : { ok: true, record };
}

export function validateCatalogRecord(r: CatalogRecord): string | undefined {
  const nameProblem = checkFileName(r.name);
  if (nameProblem) return nameProblem;
  if (!isId(r.fileId)) return 'bad file id';
  if (!Number.isSafeInteger(r.fileSizeBytes) || r.fileSizeBytes < 0) return 'bad file size';
  if (!Number.isInteger(r.datasetCount) || r.datasetCount < 0) return 'bad data set count';
  if (!Number.isInteger(r.k) || !Number.isInteger(r.m) || r.k < 1 || r.m < 1) return 'bad k/m';
  if (r.datasetSequences) {
    if (r.datasetSequences.length !== r.datasetCount) return 'data set sequences do not match the data set count';
    if (r.datasetSequences.some((s) => s < 0n || s > r.sequence)) return 'a data set sequence is outside 0..sequence';
  }
  if (r.datasetChecksums.length !== 0 && r.datasetChecksums.length !== r.datasetCount) return 'data set checksums do not match the data set count';
  return undefined;
}

/** Picks the current version among records of one name gathered from many stores. */
export function newestRecord(records: Iterable<CatalogRecord>): CatalogRecord | undefined {
  let best: CatalogRecord | undefined;
  for (const r of records) if (!best || r.sequence > best.sequence) best = r;
  return best;
}
