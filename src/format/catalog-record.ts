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
}

export function encodeCatalogRecord(record: CatalogRecord): string {
  const problem = validateCatalogRecord(record);
  if (problem) throw new Error(`refusing to write an invalid catalog record: ${problem}`);
  return sealJson({ format: CATALOG_FORMAT, ...record, sequence: record.sequence.toString() });
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
  return undefined;
}

/** Picks the current version among records of one name gathered from many stores. */
export function newestRecord(records: Iterable<CatalogRecord>): CatalogRecord | undefined {
  let best: CatalogRecord | undefined;
  for (const r of records) if (!best || r.sequence > best.sequence) best = r;
  return best;
}
