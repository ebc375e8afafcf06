import { PACK_BLOCK_NAME, type CatalogRecord, type RecordedStamp } from '../format/catalog-record.js';
import { newId, newSequence } from '../format/ids.js';
import { allowsCatalogSegments, type Manifest } from '../format/manifest.js';
import type { PackSource } from '../cluster/pack-sources.js';

/**
 * Files up to this size are packed (docs/DECISIONS.md D2, docs/FORMAT.md §5.1): MinIO inlines
 * shards up to 128 KiB for the same reason (a data set per small file costs k + m block files).
 * A read of a packed file reads its pack's data set (k x block size at most).
 */
export const PACK_MEMBER_MAX_BYTES = 128 * 1024;

/** What packing needs of a planned version (write-versions.ts's PlannedVersion). */
export interface PackCandidate {
  readonly sourcePath: string;
  /** What the source looked like when planned: the worker reading it into the pack checks it again. */
  readonly stamp?: RecordedStamp;
  readonly record: CatalogRecord;
  readonly datasetsToWrite: readonly number[];
  /** A version whose workers compare its data sets with the previous ones as they read them is never packed. */
  readonly keepIfChecksums?: readonly unknown[];
}

/** A pack to write: an internal one-data-set version whose bytes are its members' end to end. */
export interface PlannedPack {
  /** The pack as a record (never committed itself): its id, sequence and length. */
  readonly record: CatalogRecord;
  readonly sources: readonly PackSource[];
  /** Indexes into the planned versions, in pack order, and where each one's bytes start. */
  readonly members: readonly { readonly index: number; readonly offsetBytes: number }[];
}

/**
 * Packable: a whole new version of a small non-empty file (not a new mode or time of a packed one, which keeps its place), in a pool whose format has packs
 * (format 2). Small means at most 128 KiB and at most half a pack (k x block size): a file that
 * fills most of a data set saves nothing by sharing one, and one larger than a pack cannot.
 */
export function isPackable(manifest: Manifest, p: PackCandidate): boolean {
  return packableSize(manifest, p.record.fileSizeBytes) && p.datasetsToWrite.length === p.record.datasetCount && p.record.pack === undefined
    && p.keepIfChecksums === undefined;
}

/** Whether a whole new version of a file of this size would be packed (if a second such file shares its batch). */
export function packableSize(manifest: Manifest, sizeBytes: number): boolean {
  const limitBytes = Math.min(PACK_MEMBER_MAX_BYTES, Math.floor(manifest.k * manifest.blockSizeBytes / 2));
  return allowsCatalogSegments(manifest) && sizeBytes > 0 && sizeBytes <= limitBytes;
}

/** How a repack (ops/repack.ts) fills packs: a moved file must land in a pack, newer than its old one. */
export interface PackPlanOptions {
  /** Fewer packable files than this are written as files of their own (2: a pack of one saves nothing). */
  readonly minMembers?: number;
  /** Every pack's sequence is above this (docs/FORMAT.md §5.1: the moved copy must win its tie). */
  readonly sequenceAbove?: bigint;
}

/**
 * Deals the packable versions of a batch into packs of at most one data set (k x block size)
 * each, in order. Fewer than two packable files are written as files of their own: a pack of one
 * saves nothing.
 */
export function planPacks(manifest: Manifest, planned: readonly PackCandidate[], options: PackPlanOptions = {}): PlannedPack[] {
  const packable = planned.flatMap((p, index) => (isPackable(manifest, p) ? [index] : []));
  if (packable.length === 0 || packable.length < (options.minMembers ?? 2)) return [];
  const capacity = manifest.k * manifest.blockSizeBytes;
  const packs: PlannedPack[] = [];
  let members: { index: number; offsetBytes: number }[] = [];
  let bytes = 0;
  const close = (): void => {
    if (members.length === 0) return;
    const record: CatalogRecord = {
      name: PACK_BLOCK_NAME, fileId: newId(), sequence: newSequence(options.sequenceAbove), deleted: false, fileSizeBytes: bytes,
      k: manifest.k, m: manifest.m, blockSizeBytes: manifest.blockSizeBytes, datasetCount: 1,
      writtenAt: new Date().toISOString(), datasetChecksums: [],
    };
    const sources = members.map((member): PackSource => {
      const { sourcePath, record, stamp } = planned[member.index];
      return { path: sourcePath, lengthBytes: record.fileSizeBytes, ...(stamp === undefined ? {} : { stamp }) };
    });
    packs.push({ record, sources, members });
    members = [];
    bytes = 0;
  };
  for (const index of packable) {
    const size = planned[index].record.fileSizeBytes;
    if (bytes + size > capacity) close();
    members.push({ index, offsetBytes: bytes });
    bytes += size;
  }
  close();
  for (const pack of packs) {
    if (pack.record.fileSizeBytes > capacity) throw new Error(`a pack of ${pack.record.fileSizeBytes} bytes exceeds k x block size (${capacity})`);
  }
  return packs;
}
