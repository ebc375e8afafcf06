import type { BlockStatus, CheckResult } from './results.js';
import { appendAll } from '../format/append-all.js';

/** 'superseded': a newer version was committed while the check ran; nothing is said about the old one. */
export type FileState = 'healthy' | 'degraded' | 'lost' | 'superseded';

/** What the consistency check found for one file, folded from its data sets' results. */
export interface FileHealth {
  readonly name: string;
  readonly fileId: string;
  readonly sizeBytes: number;
  readonly datasets: number;
  state: FileState;
  readonly blocks: Record<BlockStatus, number>;
  /** Blocks that exist in a newer, uncommitted version (an update in progress or abandoned). */
  newerBlocks: number;
  repairedBlocks: number;
  unrepairedBlocks: number;
  /** Blocks a rebuild did not need to read (k others restored the lost ones): neither good nor bad, not checked. */
  unreadBlocks: number;
  /** Data sets whose version was superseded while being checked (never counted lost or repaired). */
  supersededDatasets: number;
  readonly lostDatasets: number[];
  /** A few lines of detail ("data set 3 block 1 on store 2: corrupt (payload checksum mismatch)"). */
  readonly details: string[];
  /** Bad blocks counted by the store (slot) they belong on: reports say per store what is wrong, without a line per block. */
  readonly byStore: Record<string, StoreBlockCounts>;
}

export interface StoreBlockCounts {
  missing: number;
  corrupt: number;
  stale: number;
  repaired: number;
  unrepaired: number;
}

const MAX_DETAILS_PER_FILE = 8;

export function emptyHealth(record: { name: string; fileId: string; fileSizeBytes: number; datasetCount: number }): FileHealth {
  return {
    name: record.name, fileId: record.fileId, sizeBytes: record.fileSizeBytes, datasets: record.datasetCount, state: 'healthy',
    blocks: { good: 0, missing: 0, corrupt: 0, stale: 0 }, newerBlocks: 0, repairedBlocks: 0, unrepairedBlocks: 0, unreadBlocks: 0,
    supersededDatasets: 0, lostDatasets: [], details: [], byStore: {},
  };
}

export function foldCheckResult(health: FileHealth, result: CheckResult): void {
  if (result.superseded) {
    health.supersededDatasets++;
    return;
  }
  for (const block of result.blocks) {
    health.blocks[block.status]++;
    if (block.newerPresent) health.newerBlocks++;
    if (block.status !== 'good') {
      storeCounts(health, block.slot)[block.status]++;
      addDetail(health, `data set ${result.datasetIndex} block ${block.blockIndex} on store ${block.slot}: ${block.status}${block.detail ? ` (${block.detail})` : ''}`);
    }
  }
  const slotOf = (blockIndex: number) => result.blocks.find((b) => b.blockIndex === blockIndex)?.slot;
  for (const blockIndex of result.repaired) {
    const slot = slotOf(blockIndex);
    if (slot !== undefined) storeCounts(health, slot).repaired++;
  }
  for (const u of result.unrepaired) {
    const slot = slotOf(u.blockIndex);
    if (slot !== undefined) storeCounts(health, slot).unrepaired++;
  }
  if (!result.recoverable) {
    health.lostDatasets.push(result.datasetIndex);
    if (result.unverifiable) addDetail(health, `data set ${result.datasetIndex} is lost: ${result.unverifiable}`);
  }
  health.repairedBlocks += result.repaired.length;
  health.unrepairedBlocks += result.unrepaired.length;
  health.unreadBlocks += result.unread?.length ?? 0;
  for (const u of result.unrepaired) addDetail(health, `data set ${result.datasetIndex} block ${u.blockIndex}: not repaired (${u.reason})`);
}

/** Merges partial results of one file checked by several workers. */
export function mergeHealth(into: FileHealth, from: FileHealth): void {
  for (const status of Object.keys(into.blocks) as BlockStatus[]) into.blocks[status] += from.blocks[status];
  into.newerBlocks += from.newerBlocks;
  into.repairedBlocks += from.repairedBlocks;
  into.unrepairedBlocks += from.unrepairedBlocks;
  into.unreadBlocks += from.unreadBlocks;
  into.supersededDatasets += from.supersededDatasets;
  appendAll(into.lostDatasets, from.lostDatasets);
  for (const detail of from.details) addDetail(into, detail);
  for (const [slot, counts] of Object.entries(from.byStore)) {
    const to = storeCounts(into, Number(slot));
    for (const key of Object.keys(counts) as (keyof StoreBlockCounts)[]) to[key] += counts[key];
  }
}

function storeCounts(health: FileHealth, slot: number): StoreBlockCounts {
  health.byStore[slot] ??= { missing: 0, corrupt: 0, stale: 0, repaired: 0, unrepaired: 0 };
  return health.byStore[slot];
}

/** After folding every data set: lost if any is below k; degraded while bad blocks remain. */
export function settleState(health: FileHealth, repaired: boolean): void {
  const badBlocks = health.blocks.missing + health.blocks.corrupt + health.blocks.stale;
  // After a repair, a file is healthy again when every bad block was rewritten and verified.
  const stillBad = repaired ? health.unrepairedBlocks : badBlocks;
  health.lostDatasets.sort((a, b) => a - b);
  // A file rewritten while the check ran: whatever its old version's blocks showed (some may
  // already have been collected by the writer), the name now holds a version this check never saw.
  if (health.supersededDatasets > 0) health.state = 'superseded';
  else health.state = health.lostDatasets.length > 0 ? 'lost' : stillBad > 0 ? 'degraded' : 'healthy';
}

function addDetail(health: FileHealth, line: string): void {
  if (health.details.length < MAX_DETAILS_PER_FILE) health.details.push(line);
}

/** Gathers the per-file results of several workers (a large file's data sets are spread over all). */
export function mergeWorkerFiles(into: Map<string, FileHealth>, files: readonly FileHealth[]): void {
  for (const health of files) {
    const existing = into.get(health.fileId);
    if (existing) mergeHealth(existing, health);
    else into.set(health.fileId, { ...health, blocks: { ...health.blocks }, lostDatasets: [...health.lostDatasets], details: [...health.details], byStore: copyByStore(health.byStore) });
  }
}

function copyByStore(byStore: Readonly<Record<string, StoreBlockCounts>>): Record<string, StoreBlockCounts> {
  return Object.fromEntries(Object.entries(byStore).map(([slot, counts]) => [slot, { ...counts }]));
}
