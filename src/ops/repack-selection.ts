import type { CatalogRecord } from '../format/catalog-record.js';
import { datasetExtent } from '../format/dataset-geometry.js';

/**
 * A pack is repacked when its live files hold less than this share of its bytes (docs/DECISIONS.md
 * D4): then moving them reads at most the pack once and writes at most half of it again, and the
 * space a pool of such packs holds is at most twice its live bytes (times (k + m) / k).
 */
export const REPACK_LIVE_SHARE = 0.5;

/** One pack as the catalog sees it: its size, and the live files (newest records) in it. */
export interface PackUsage {
  /** `fileId@sequence` (ops/decode-tasks.ts packKey). */
  readonly key: string;
  readonly fileId: string;
  readonly sequence: bigint;
  readonly packBytes: number;
  readonly liveBytes: number;
  readonly members: readonly CatalogRecord[];
}

/** Every pack a live record refers to, with its live files in pack order. */
export function packUsage(newest: Iterable<CatalogRecord>): PackUsage[] {
  const byKey = new Map<string, { fileId: string; sequence: bigint; packBytes: number; members: CatalogRecord[] }>();
  for (const record of newest) {
    if (record.deleted || !record.pack) continue;
    const key = `${record.pack.fileId}@${record.pack.sequence}`;
    const entry = byKey.get(key) ?? { fileId: record.pack.fileId, sequence: record.pack.sequence, packBytes: record.pack.packBytes, members: [] };
    entry.members.push(record);
    byKey.set(key, entry);
  }
  return [...byKey].map(([key, e]) => ({
    key, fileId: e.fileId, sequence: e.sequence, packBytes: e.packBytes,
    liveBytes: e.members.reduce((sum, m) => sum + m.fileSizeBytes, 0),
    members: e.members.sort((a, b) => ((a.pack?.offsetBytes ?? 0) - (b.pack?.offsetBytes ?? 0))),
  }));
}

/**
 * Each pack's live bytes summed as the catalog streams by (one record at a time, none kept): what a
 * reader of a million names needs to tell which packs are due without holding their files.
 */
export class PackLiveBytes {
  private readonly byKey = new Map<string, { packBytes: number; liveBytes: number }>();

  /** Counts a newest record (tombstones and unpacked files are passed over); returns its pack's key, if packed. */
  add(record: CatalogRecord): string | undefined {
    if (record.deleted || !record.pack) return undefined;
    const key = `${record.pack.fileId}@${record.pack.sequence}`;
    const usage = this.byKey.get(key) ?? { packBytes: record.pack.packBytes, liveBytes: 0 };
    usage.liveBytes += record.fileSizeBytes;
    this.byKey.set(key, usage);
    return key;
  }

  /** Keys (`fileId@sequence`) of the packs due for repacking. */
  due(): Set<string> {
    return new Set([...this.byKey].filter(([, u]) => dueForRepack(u.liveBytes, u.packBytes)).map(([key]) => key));
  }
}

/** Whether a pack whose live files hold `liveBytes` of its `packBytes` is to be repacked. */
export function dueForRepack(liveBytes: number, packBytes: number, liveShare = REPACK_LIVE_SHARE): boolean {
  return liveBytes < liveShare * packBytes;
}

/** The packs whose live share is below `liveShare`, emptiest first, ties by key (deterministic). */
export function packsToRepack(usage: readonly PackUsage[], liveShare = REPACK_LIVE_SHARE): PackUsage[] {
  return usage.filter((u) => dueForRepack(u.liveBytes, u.packBytes, liveShare))
    .sort((a, b) => a.liveBytes / a.packBytes - b.liveBytes / b.packBytes || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The bytes a pack of `packBytes` occupies over all its stores: k + m blocks of its shard size. */
export function storedPackBytes(packBytes: number, k: number, m: number, blockSizeBytes: number): number {
  return (k + m) * datasetExtent({ fileSizeBytes: packBytes, k, blockSizeBytes }, 0).shardBytes;
}

/**
 * Cuts the selected packs into rounds whose live bytes stay under `maxBytes` (each round's files are
 * read out to temporary files, then written and committed at once); a pack is never split.
 */
export function repackRounds(selected: readonly PackUsage[], maxBytes: number): PackUsage[][] {
  const rounds: PackUsage[][] = [];
  let current: PackUsage[] = [];
  let bytes = 0;
  for (const pack of selected) {
    if (current.length > 0 && bytes + pack.liveBytes > maxBytes) {
      rounds.push(current);
      current = [];
      bytes = 0;
    }
    current.push(pack);
    bytes += pack.liveBytes;
  }
  if (current.length > 0) rounds.push(current);
  return rounds;
}
