import { isId, parseSequence } from './ids.js';
import { checkFileName } from './file-name.js';
import { unescapeBytes } from './name-bytes.js';
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
  /**
   * A small file stored inside a pack (docs/FORMAT.md §5.1): its bytes are `[offsetBytes,
   * offsetBytes + fileSizeBytes)` of the pack's one data set. Such a record has no data sets of
   * its own (datasetCount 0); its fileId has no blocks.
   */
  readonly pack?: PackRef;
  /** What the entry is (docs/FORMAT.md §4, "Tree entries"); absent: a regular file. Pool format 3. */
  readonly kind?: EntryKind;
  /** Permission bits with setuid, setgid and sticky (0..0o7777); absent: not known (restored as the umask gives). */
  readonly mode?: number;
  /** Modification time, nanoseconds since 1970 (negative before). */
  readonly mtimeNs?: bigint;
  /** Numeric owner and group, restored only by a root restore. */
  readonly uid?: number;
  readonly gid?: number;
  /** A symlink's target in catalog form (name-bytes.ts); never followed by rain. */
  readonly target?: string;
  /**
   * Regular files that were one inode (hard links) in the tree they were put from share this key
   * ("<dev>:<ino>" of that inode); each still has its own bytes, and a restore links the ones
   * whose bytes are equal.
   */
  readonly linkGroup?: string;
  /**
   * What the source file looked like when this version read it (`put -r`, `sync`; pool format 3):
   * the next `sync` reads only files whose stamp differs (docs/FORMAT.md §4.2, "Source stamp").
   */
  readonly sourceStamp?: RecordedStamp;
}

/** A source file's size, times in nanoseconds and identity, from stat. */
export interface RecordedStamp {
  readonly sizeBytes: number;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly ino: bigint;
  readonly dev: bigint;
}

export type EntryKind = 'dir' | 'symlink';

/** The members a tree entry adds to a record (pool format 3): what `put -r` reads from lstat. */
export type EntryMetadata = Pick<CatalogRecord, 'kind' | 'mode' | 'mtimeNs' | 'uid' | 'gid' | 'target' | 'linkGroup'>;

/** Whether a record carries any member only pool format 3 may hold (metadata or a name with escapes). */
export function needsTreeFormat(record: CatalogRecord): boolean {
  return record.kind !== undefined || record.mode !== undefined || record.mtimeNs !== undefined || record.uid !== undefined
    || record.gid !== undefined || record.target !== undefined || record.linkGroup !== undefined || record.sourceStamp !== undefined
    || record.name.includes('\\');
}

/** Where a packed file's bytes are: the pack (a one-data-set file of its own id) and the range in it. */
export interface PackRef {
  readonly fileId: string;
  readonly sequence: bigint;
  /** The pack's data bytes (L of its data set). */
  readonly packBytes: number;
  /** CRC-32 of the pack's data bytes: the pack data set's checksum (§5, "The data set checksum"). */
  readonly packChecksum: number;
  readonly offsetBytes: number;
  /** CRC-32 of this file's bytes. */
  readonly fileChecksum: number;
}

/** The name packs carry in their block headers: no file can have it (names are 1..1024 bytes). */
export const PACK_BLOCK_NAME = '';

/** The sequence data set d of this version was written with (and its blocks carry). */
export function datasetSequence(record: Pick<CatalogRecord, 'sequence' | 'datasetSequences'>, datasetIndex: number): bigint {
  return record.datasetSequences?.[datasetIndex] ?? record.sequence;
}

export function encodeCatalogRecord(record: CatalogRecord): string {
  const problem = validateCatalogRecord(record);
  if (problem) throw new Error(`refusing to write an invalid catalog record: ${problem}`);
  const { datasetSequences, pack, mtimeNs, sourceStamp, ...rest } = record;
  return sealJson({
    format: CATALOG_FORMAT, ...rest, sequence: record.sequence.toString(),
    ...(datasetSequences ? { datasetSequences: datasetSequences.map(String) } : {}),
    ...(pack ? { pack: { ...pack, sequence: pack.sequence.toString() } } : {}),
    ...(mtimeNs === undefined ? {} : { mtimeNs: mtimeNs.toString() }),
    ...(sourceStamp === undefined ? {} : {
      sourceStamp: {
        sizeBytes: sourceStamp.sizeBytes, mtimeNs: sourceStamp.mtimeNs.toString(), ctimeNs: sourceStamp.ctimeNs.toString(),
        ino: sourceStamp.ino.toString(), dev: sourceStamp.dev.toString(),
      },
    }),
  });
}

export function decodeCatalogRecord(text: string): { ok: true; record: CatalogRecord } | { ok: false; reason: string } {
  const unsealed = unsealJson(text);
  return unsealed.ok ? catalogRecordOf(unsealed.body) : unsealed;
}

/** A record from the body text of a line whose seal was checked already (sealed-json.ts, sealedBodyStart). */
export function decodeCatalogRecordBody(bodyText: string): { ok: true; record: CatalogRecord } | { ok: false; reason: string } {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  return catalogRecordOf(body);
}

function catalogRecordOf(b: unknown): { ok: true; record: CatalogRecord } | { ok: false; reason: string } {
  if (!isRecord(b) || b.format !== CATALOG_FORMAT) return { ok: false, reason: 'not a rain catalog record' };
  const sequence = parseSequence(String(b.sequence));
  if (sequence === undefined) return { ok: false, reason: 'bad sequence' };
  if (typeof b.mtimeNs === 'string' && !MTIME_NS.test(b.mtimeNs)) return { ok: false, reason: 'bad mtime' };
  const stamp = isRecord(b.sourceStamp) ? decodeStamp(b.sourceStamp) : undefined;
  if (stamp === null) return { ok: false, reason: 'bad source stamp' };
  // Built member by member, in the order encodeCatalogRecord writes them back (a decoded record
  // re-encodes to the same bytes); object spreads here cost more than the JSON parse.
  const record: Mutable<CatalogRecord> = {
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
  };
  if (Array.isArray(b.datasetSequences)) record.datasetSequences = b.datasetSequences.map((v: unknown) => parseSequence(String(v)) ?? -1n);
  if (isRecord(b.pack)) record.pack = decodePackRef(b.pack);
  addEntryMetadata(record, b);
  if (stamp !== undefined) record.sourceStamp = stamp;
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
  if (r.pack) {
    const p = r.pack;
    if (!isId(p.fileId) || p.fileId === r.fileId) return 'bad pack file id';
    if (p.sequence < 1n) return 'bad pack sequence';
    if (r.datasetCount !== 0 || r.fileSizeBytes < 1) return 'a packed file has bytes and no data sets of its own';
    if (!Number.isSafeInteger(p.packBytes) || p.packBytes < 1 || p.packBytes > r.k * r.blockSizeBytes) return 'bad pack length';
    if (!Number.isSafeInteger(p.offsetBytes) || p.offsetBytes < 0 || p.offsetBytes + r.fileSizeBytes > p.packBytes) return 'packed range outside the pack';
    if (!isCrc(p.packChecksum) || !isCrc(p.fileChecksum)) return 'bad pack checksum';
  }
  return entryProblem(r);
}

function entryProblem(r: CatalogRecord): string | undefined {
  if (r.kind !== undefined && r.kind !== 'dir' && r.kind !== 'symlink') return 'unknown entry kind';
  if (r.kind !== undefined && (r.datasetCount !== 0 || r.fileSizeBytes !== 0 || r.pack)) return 'a directory or symlink has no bytes';
  if ((r.kind === 'symlink') !== (r.target !== undefined)) return 'a symlink, and only a symlink, has a target';
  if (r.target !== undefined) {
    const bytes = unescapeBytes(r.target);
    if (!bytes || bytes.length === 0 || bytes.includes(0) || bytes.length > MAX_LINK_TARGET_BYTES) return 'bad symlink target';
  }
  if (r.mode !== undefined && (!Number.isInteger(r.mode) || r.mode < 0 || r.mode > 0o7777)) return 'bad mode';
  if (r.uid !== undefined && !isId32(r.uid)) return 'bad uid';
  if (r.gid !== undefined && !isId32(r.gid)) return 'bad gid';
  if (r.sourceStamp !== undefined && (r.kind !== undefined || r.sourceStamp.sizeBytes !== r.fileSizeBytes)) return 'a source stamp belongs to a regular file of its size';
  if (r.linkGroup !== undefined && (r.kind !== undefined || !/^[0-9]+:[0-9]+$/.test(r.linkGroup))) return 'bad link group';
  return undefined;
}

/** A stamp's members, each a decimal string but the size; null when one is missing or malformed. */
function decodeStamp(b: Record<string, unknown>): RecordedStamp | null {
  const { sizeBytes, mtimeNs, ctimeNs, ino, dev } = b;
  if (typeof sizeBytes !== 'number' || !Number.isSafeInteger(sizeBytes) || sizeBytes < 0) return null;
  if (typeof mtimeNs !== 'string' || !MTIME_NS.test(mtimeNs) || typeof ctimeNs !== 'string' || !MTIME_NS.test(ctimeNs)) return null;
  if (typeof ino !== 'string' || !UNSIGNED.test(ino) || typeof dev !== 'string' || !UNSIGNED.test(dev)) return null;
  return { sizeBytes, mtimeNs: BigInt(mtimeNs), ctimeNs: BigInt(ctimeNs), ino: BigInt(ino), dev: BigInt(dev) };
}

/** An inode or device number: a decimal integer below 2^64. */
const UNSIGNED = /^(0|[1-9][0-9]{0,19})$/;

/** A decimal integer, negative before 1970. */
const MTIME_NS = /^-?(0|[1-9][0-9]{0,24})$/;

/** Linux's PATH_MAX, which bounds what readlink returns. */
export const MAX_LINK_TARGET_BYTES = 4096;

function isId32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

/** Members absent or not of their JSON type are absent (a wrong value of the right type makes the record damaged). */
function addEntryMetadata(record: Mutable<EntryMetadata>, b: Record<string, unknown>): void {
  if (typeof b.kind === 'string') record.kind = b.kind as EntryKind;
  if (typeof b.mode === 'number') record.mode = b.mode;
  if (typeof b.mtimeNs === 'string' && MTIME_NS.test(b.mtimeNs)) record.mtimeNs = BigInt(b.mtimeNs);
  if (typeof b.uid === 'number') record.uid = b.uid;
  if (typeof b.gid === 'number') record.gid = b.gid;
  if (typeof b.target === 'string') record.target = b.target;
  if (typeof b.linkGroup === 'string') record.linkGroup = b.linkGroup;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function isCrc(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

function decodePackRef(b: Record<string, unknown>): PackRef {
  return {
    fileId: String(b.fileId), sequence: parseSequence(String(b.sequence)) ?? -1n, packBytes: Number(b.packBytes),
    packChecksum: Number(b.packChecksum), offsetBytes: Number(b.offsetBytes), fileChecksum: Number(b.fileChecksum),
  };
}

/**
 * The record a pack would have were it a file: what its one data set is checked, read and repaired
 * from (the same code as every file's). Its name is PACK_BLOCK_NAME, which no file has.
 */
export function packRecordOf(member: CatalogRecord): CatalogRecord {
  const pack = member.pack as PackRef;
  return {
    name: PACK_BLOCK_NAME, fileId: pack.fileId, sequence: pack.sequence, deleted: false, fileSizeBytes: pack.packBytes,
    k: member.k, m: member.m, blockSizeBytes: member.blockSizeBytes, datasetCount: 1, writtenAt: member.writtenAt,
    datasetChecksums: [pack.packChecksum],
  };
}

/** What orders a name's records (compareVersions): a reader that keeps only this of a record lets the rest go. */
export interface VersionKey {
  readonly sequence: bigint;
  readonly pack?: { readonly sequence: bigint; readonly fileId: string };
}

export function versionKeyOf(record: VersionKey): VersionKey {
  return record.pack ? { sequence: record.sequence, pack: { sequence: record.pack.sequence, fileId: record.pack.fileId } } : { sequence: record.sequence };
}

/**
 * The total order of a name's records (docs/FORMAT.md §4, §5.1 "Repacking"): by sequence; at one
 * sequence a packed record whose pack has the higher sequence wins (a repack moved the version into
 * that newer pack), then the higher pack file id (two repacks of one pack at once: either copy is
 * the same bytes, the choice only has to be the same everywhere); an unpacked record counts as
 * pack sequence 0. Negative: `a` is older than `b`; 0: the same version in the same place.
 */
export function compareVersions(a: VersionKey, b: VersionKey): number {
  if (a.sequence !== b.sequence) return a.sequence < b.sequence ? -1 : 1;
  const aPack = a.pack?.sequence ?? 0n;
  const bPack = b.pack?.sequence ?? 0n;
  if (aPack !== bPack) return aPack < bPack ? -1 : 1;
  const aId = a.pack?.fileId ?? '';
  const bId = b.pack?.fileId ?? '';
  return aId === bId ? 0 : aId < bId ? -1 : 1;
}

/** Picks the current version among records of one name gathered from many stores (compareVersions). */
export function newestRecord(records: Iterable<CatalogRecord>): CatalogRecord | undefined {
  let best: CatalogRecord | undefined;
  for (const r of records) if (!best || compareVersions(r, best) > 0) best = r;
  return best;
}
