import fs from 'node:fs/promises';
import type { CatalogRecord } from '../format/catalog-record.js';
import { crc32Of } from '../format/checksum.js';
import { datasetCountOf, datasetExtent, type FileGeometry } from '../format/dataset-geometry.js';
import { fsPath } from '../format/wire-path.js';
import { describeError, usageError } from '../rain-error.js';
import { sameStamp, type SourceFile } from './source-stamp.js';

/**
 * The one comparison of a tree with the catalog that `sync`, `sync --dry-run` and `diff` all use,
 * so that what they list and what sync does cannot disagree.
 *
 * A regular file is read only when its stamp (size, mtime, ctime, inode, device) differs from the
 * one its record keeps, when the record keeps none (written before stamps, or by a plain `put`
 * from standard input), when the stamp is *racy* (below), or with `--checksum`.
 */

/**
 * How far apart two writes may be and still get the same mtime: FAT and exFAT keep times in
 * 2-second steps, and many network filesystems round to the second; ext4, xfs and btrfs keep
 * nanoseconds but advance them only at the kernel's clock tick (a few milliseconds). A file
 * changed this soon after the record's write may carry an mtime equal to what the record kept.
 */
export const TIMESTAMP_GRANULARITY_NS = 2_000_000_000n;

/**
 * Git's racy-timestamp rule: a stamp is trusted only if its mtime is older than the record's write
 * time by more than the granularity. Otherwise the file may have been changed again within the
 * same timestamp step after it was read, with nothing in its stamp to show it: it is re-read.
 * (`writtenAt` is taken before the file is read, so it errs on the side of re-reading.)
 */
export function isRacy(record: Pick<CatalogRecord, 'writtenAt' | 'sourceStamp'>): boolean {
  const stamp = record.sourceStamp;
  const writtenMs = Date.parse(record.writtenAt);
  if (stamp === undefined || !Number.isFinite(writtenMs)) return true;
  return stamp.mtimeNs >= BigInt(writtenMs) * 1_000_000n - TIMESTAMP_GRANULARITY_NS;
}

/** Whether a record written now with this stamp would be racy (then rewriting it would not help). */
export function racyIfWrittenNow(source: SourceFile, nowMs: number): boolean {
  return source.stamp === undefined || source.stamp.mtimeNs >= BigInt(Math.floor(nowMs)) * 1_000_000n - TIMESTAMP_GRANULARITY_NS;
}

export type ChangeMark = '+' | '~' | '-';

/** One line of `diff` / `sync --dry-run`: what would happen to a name, and why. */
export interface TreeChange {
  readonly mark: ChangeMark;
  readonly name: string;
  readonly kind: 'file' | 'dir' | 'symlink';
  /** new, gone; size, content, mtime, mode, owner, target, type, hardlink. */
  readonly reasons: readonly string[];
}

/** What comparing one source with its record found. */
export interface EntryComparison {
  /** undefined: nothing to do. */
  readonly mark?: '+' | '~';
  readonly reasons: readonly string[];
  /**
   * For a regular file with a comparable previous version: the data sets whose bytes differ
   * (empty when only metadata or the stamp changed); undefined: write every data set.
   */
  readonly changedDatasets?: readonly number[];
  /** The bytes are the record's, but its stamp is stale or racy and a fresh one would not be. */
  readonly refreshStamp: boolean;
}

export interface CompareOptions {
  /** Read every file, whatever its stamp (`--checksum`). */
  readonly checksum?: boolean;
  /** What the pool stores a file as: k and block size. */
  readonly geometry: { readonly k: number; readonly blockSizeBytes: number };
  /** Counts the bytes read from sources. */
  readonly counter: { bytesRead: number };
  readonly nowMs?: number;
}

/** Compares one source entry with its newest live record (undefined: the name is new). */
export async function compareEntry(source: SourceFile, previous: CatalogRecord | undefined, options: CompareOptions): Promise<EntryComparison> {
  const first = compareWithoutReading(source, previous, options);
  if (!('contentOf' in first)) return first;
  return withContent(source, first.contentOf, first.reasons, await compareContent(source, first.contentOf, options), options.nowMs);
}

/**
 * What comparing needs before any byte is read: the answer, or (`contentOf`) that the bytes must
 * be compared with that record's, the reasons found so far being `reasons`. `sync` hands that
 * comparison of a large file to the workers that encode it (readsOnce), the others do it here.
 */
export function compareWithoutReading(
  source: SourceFile, previous: CatalogRecord | undefined, options: Pick<CompareOptions, 'checksum'>,
): EntryComparison | { readonly contentOf: CatalogRecord; readonly reasons: string[] } {
  const kind = source.meta?.kind;
  if (!previous) return { mark: '+', reasons: ['new'], refreshStamp: false };
  const reasons = metadataReasons(source, previous);
  // A directory or symlink is all metadata; a file whose kind changed is written whole.
  if (kind !== undefined || previous.kind !== undefined) {
    return { mark: reasons.length > 0 ? '~' : undefined, reasons, refreshStamp: false };
  }
  const stampTrusted = !options.checksum && source.stamp !== undefined && previous.sourceStamp !== undefined
    && sameStamp(source.stamp, previous.sourceStamp) && !isRacy(previous);
  if (stampTrusted) return { mark: reasons.length > 0 ? '~' : undefined, reasons, changedDatasets: [], refreshStamp: false };
  return { contentOf: previous, reasons };
}

/** The comparison once the bytes were compared (`content`), here or by the workers. */
export function withContent(source: SourceFile, previous: CatalogRecord, metadata: readonly string[], content: ContentComparison, nowMs?: number): EntryComparison {
  const reasons = [...metadata];
  if (content.sizeChanged) reasons.unshift('size');
  else if (!content.sameBytes) reasons.unshift('content');
  const stampStale = source.stamp !== undefined && (previous.sourceStamp === undefined || !sameStamp(source.stamp, previous.sourceStamp) || isRacy(previous));
  const refreshStamp = content.sameBytes && reasons.length === 0 && source.meta !== undefined && stampStale
    && !racyIfWrittenNow(source, nowMs ?? Date.now());
  return { mark: reasons.length > 0 ? '~' : undefined, reasons, changedDatasets: content.changedDatasets, refreshStamp };
}

/** What differs besides the bytes: type, mode, time, owner, link target and hard-link group. */
function metadataReasons(source: SourceFile, previous: CatalogRecord): string[] {
  const meta = source.meta ?? {};
  const reasons: string[] = [];
  if (meta.kind !== previous.kind) reasons.push('type');
  if (meta.target !== previous.target) reasons.push('target');
  if (meta.mtimeNs !== previous.mtimeNs) reasons.push('mtime');
  if (meta.mode !== previous.mode) reasons.push('mode');
  if (meta.uid !== previous.uid || meta.gid !== previous.gid) reasons.push('owner');
  if (meta.linkGroup !== previous.linkGroup) reasons.push('hardlink');
  return reasons;
}

export interface ContentComparison {
  readonly sameBytes: boolean;
  readonly sizeChanged: boolean;
  /** undefined: not comparable data set by data set (write every one). */
  readonly changedDatasets?: readonly number[];
}

/** Whether the record's data sets can be compared one by one with the source's (same k and block size, every checksum kept). */
function comparableDatasets(previous: CatalogRecord, pool: CompareOptions['geometry']): boolean {
  return previous.pack === undefined && previous.k === pool.k && previous.blockSizeBytes === pool.blockSizeBytes
    && previous.datasetChecksums.length === previous.datasetCount;
}

/**
 * For a source whose bytes the workers compare as they read them (sync of a file with its own
 * data sets): per data set of the new size, the previous checksum its bytes must still have to
 * be kept, or undefined where it cannot be kept whatever its bytes (another byte range or shard
 * length, or no such data set before). undefined as a whole: the record is not comparable so.
 */
export function keepableChecksums(sizeBytes: number, previous: CatalogRecord, pool: CompareOptions['geometry']): (number | undefined)[] | undefined {
  if (!comparableDatasets(previous, pool)) return undefined;
  const geometry: FileGeometry = { fileSizeBytes: sizeBytes, k: pool.k, blockSizeBytes: pool.blockSizeBytes };
  const previousGeometry: FileGeometry = { fileSizeBytes: previous.fileSizeBytes, k: previous.k, blockSizeBytes: previous.blockSizeBytes };
  return Array.from({ length: datasetCountOf(geometry) }, (_, d) => {
    const extent = datasetExtent(geometry, d);
    const before = d < previous.datasetCount ? datasetExtent(previousGeometry, d) : undefined;
    // A data set is reusable only if it covers the same bytes with the same shard length.
    return before && before.dataBytes === extent.dataBytes && before.shardBytes === extent.shardBytes ? previous.datasetChecksums[d] : undefined;
  });
}

/** The content comparison the workers' reads amount to: every data set not `kept` differs. */
export function contentFromKept(sizeBytes: number, previous: CatalogRecord, datasetCount: number, kept: ReadonlySet<number>): ContentComparison {
  const changed = Array.from({ length: datasetCount }, (_, d) => d).filter((d) => !kept.has(d));
  const sizeChanged = sizeBytes !== previous.fileSizeBytes;
  return { sameBytes: changed.length === 0 && datasetCount === previous.datasetCount && !sizeChanged, sizeChanged, changedDatasets: changed };
}

/**
 * Reads the source and compares it with the record's checksums: data set by data set (each CRC-32
 * against `datasetChecksums`), or whole for a packed file (against the pack's `fileChecksum`).
 */
export async function compareContent(source: SourceFile, previous: CatalogRecord, options: CompareOptions): Promise<ContentComparison> {
  const { geometry: pool, counter } = options;
  const sizeChanged = source.sizeBytes !== previous.fileSizeBytes;
  if (previous.pack) {
    if (sizeChanged) return { sameBytes: false, sizeChanged };
    const bytes = await fs.readFile(fsPath(source.path)).catch((error: unknown) => {
      throw usageError(`${source.path}: ${describeError(error)}`);
    });
    counter.bytesRead += bytes.length;
    const sameBytes = bytes.length === source.sizeBytes && crc32Of(bytes) === previous.pack.fileChecksum;
    // A packed file is written whole or not at all.
    return { sameBytes, sizeChanged, ...(sameBytes ? { changedDatasets: [] } : {}) };
  }
  const keepable = keepableChecksums(source.sizeBytes, previous, pool);
  if (!keepable) return { sameBytes: false, sizeChanged };
  const geometry: FileGeometry = { fileSizeBytes: source.sizeBytes, k: pool.k, blockSizeBytes: pool.blockSizeBytes };
  const datasetCount = keepable.length;
  const changed: number[] = [];
  const handle = await fs.open(fsPath(source.path), 'r').catch((error: unknown) => {
    throw usageError(`${source.path}: ${describeError(error)}`);
  });
  try {
    const buffer = Buffer.allocUnsafe(pool.k * pool.blockSizeBytes);
    for (let d = 0; d < datasetCount; d++) {
      const extent = datasetExtent(geometry, d);
      if (keepable[d] === undefined) {
        changed.push(d);
        continue;
      }
      let filled = 0;
      while (filled < extent.dataBytes) {
        const { bytesRead } = await handle.read(buffer, filled, extent.dataBytes - filled, extent.fileOffsetBytes + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      counter.bytesRead += filled;
      if (filled !== extent.dataBytes || crc32Of(buffer.subarray(0, filled)) !== keepable[d]) changed.push(d);
    }
  } finally {
    await handle.close();
  }
  const sameBytes = changed.length === 0 && datasetCount === previous.datasetCount && !sizeChanged;
  return { sameBytes, sizeChanged, changedDatasets: changed };
}

export interface TreeDiff {
  readonly changes: TreeChange[];
  unchanged: number;
  bytesRead: number;
}

/**
 * Every difference between a walked tree and the live records under `prefix`: names to add,
 * to update, and (when `withDeleted`) names in the pool that the tree no longer has.
 */
export async function diffTree(
  sources: readonly SourceFile[], records: ReadonlyMap<string, CatalogRecord>, prefix: string,
  options: Omit<CompareOptions, 'counter'> & { readonly withDeleted: boolean },
): Promise<TreeDiff> {
  const diff: TreeDiff = { changes: [], unchanged: 0, bytesRead: 0 };
  const counter = { bytesRead: 0 };
  for (const source of sources) {
    const record = records.get(source.name);
    const found = await compareEntry(source, record?.deleted ? undefined : record, { ...options, counter });
    if (found.mark) diff.changes.push({ mark: found.mark, name: source.name, kind: source.meta?.kind ?? 'file', reasons: found.reasons });
    else if (source.meta?.kind !== 'dir') diff.unchanged++;
  }
  if (options.withDeleted) {
    const present = new Set(sources.map((s) => s.name));
    for (const record of records.values()) {
      if (record.deleted || !isUnder(record.name, prefix) || present.has(record.name)) continue;
      diff.changes.push({ mark: '-', name: record.name, kind: record.kind ?? 'file', reasons: ['gone'] });
    }
  }
  diff.changes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  diff.bytesRead = counter.bytesRead;
  return diff;
}

/**
 * A name inside the tree stored under `prefix`: what `sync --delete` may delete (the prefix's own
 * directory entry is the walk's; with an empty prefix nothing is, as sync has always done).
 */
export function isUnder(name: string, prefix: string): boolean {
  return name.startsWith(`${prefix}/`);
}
