import fs from 'node:fs/promises';
import path from 'node:path';
import { isId } from '../../format/ids.js';
import { listFileBlocks, removeBlock } from '../../store/block-files.js';
import { readdirOrEmpty } from '../../store/catalog-files.js';
import { BLOCKS_DIR, fileBlocksDir, TMP_DIR } from '../../store/store-layout.js';
import { remotable } from '../../store/store-router.js';
import type { StoreScan } from '../protocol.js';

/** The file ids this store holds blocks for (names only; contents are the check's business). */
async function scanStoreHere(storePath: string, detailed: boolean): Promise<StoreScan> {
  const fileIds: string[] = [];
  const sequences: Record<string, bigint[]> = {};
  for (const bucket of await readdirOrEmpty(path.join(storePath, BLOCKS_DIR))) {
    for (const fileId of await readdirOrEmpty(path.join(storePath, BLOCKS_DIR, bucket))) {
      if (!isId(fileId) || !fileId.startsWith(bucket)) continue;
      fileIds.push(fileId);
      if (detailed) sequences[fileId] = [...new Set((await listFileBlocks(storePath, fileId)).map((key) => key.sequence))];
    }
  }
  const tempFiles = (await readdirOrEmpty(path.join(storePath, TMP_DIR))).length;
  return detailed ? { fileIds, sequences, tempFiles } : { fileIds, tempFiles };
}

/**
 * Removes this store's blocks of `fileId` that are older than `sequence` (garbage after a newer
 * version committed) or exactly at it (undoing a put that failed), then the directory once empty.
 */
async function removeFileBlocksHere(storePath: string, fileId: string, sequence: bigint, which: 'older' | 'exactly'): Promise<number> {
  let removed = 0;
  for (const key of await listFileBlocks(storePath, fileId)) {
    if (which === 'older' ? key.sequence < sequence : key.sequence === sequence) {
      await removeBlock(storePath, fileId, key);
      removed++;
    }
  }
  // rmdir only succeeds on an empty directory, so a concurrent writer's new blocks are never lost.
  await fs.rmdir(fileBlocksDir(storePath, fileId)).catch(() => undefined);
  return removed;
}

/**
 * After a version commits, each block file of older sequence than its data set's current one is
 * garbage; blocks of data sets past the end (the file shrank) go when older than the version.
 */
async function collectOlderBlocksHere(storePath: string, fileId: string, sequence: bigint, datasetSequences: readonly bigint[]): Promise<number> {
  let removed = 0;
  for (const key of await listFileBlocks(storePath, fileId)) {
    const current = key.datasetIndex < datasetSequences.length ? datasetSequences[key.datasetIndex] : sequence;
    if (key.sequence < current) {
      await removeBlock(storePath, fileId, key);
      removed++;
    }
  }
  return removed;
}

// Reachable from any process and host (store-router.ts): a worker cleaning up after a version
// also removes its blocks on stores it does not reach itself.
export const scanStore = remotable('scanStore', scanStoreHere);
export const removeFileBlocks = remotable('removeFileBlocks', removeFileBlocksHere);
export const collectOlderBlocks = remotable('collectOlderBlocks', collectOlderBlocksHere);
