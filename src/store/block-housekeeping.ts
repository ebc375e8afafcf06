import { listFileBlocks, removeBlock } from './block-files.js';
import { removeEmptyDirectory } from './guarded-fs.js';
import { fileBlocksDir } from './store-layout.js';

/**
 * Removes this store's blocks of `fileId` that are older than `sequence` (garbage after a newer
 * version committed) or exactly at it (undoing a put that failed), then the directory once empty.
 */
export async function removeFileBlocks(storePath: string, fileId: string, sequence: bigint, which: 'older' | 'exactly'): Promise<number> {
  let removed = 0;
  for (const key of await listFileBlocks(storePath, fileId)) {
    if (which === 'older' ? key.sequence < sequence : key.sequence === sequence) {
      await removeBlock(storePath, fileId, key);
      removed++;
    }
  }
  // rmdir only succeeds on an empty directory, so a concurrent writer's new blocks are never lost.
  removeEmptyDirectory(storePath, fileBlocksDir(storePath, fileId));
  return removed;
}

/**
 * After a version commits, each block file of older sequence than its data set's current one is
 * garbage; blocks of data sets past the end (the file shrank) go when older than the version.
 */
export async function collectOlderBlocks(storePath: string, fileId: string, sequence: bigint, datasetSequences: readonly bigint[]): Promise<number> {
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

/**
 * Removes block files of `fileId` on this store that no reader could ever ask this store for:
 * at or below the file's committed sequence, but of a data set the version does not have, or of
 * a block index whose placement is another store (a block copied in by hand, a misdirected write).
 * `placedHere[d]` is the block index data set d keeps on this store, or -1. Newer sequences are an
 * update in flight and are left to the check's decision on unfinished versions.
 */
export async function sweepMisplacedBlocks(storePath: string, fileId: string, sequence: bigint, placedHere: readonly number[]): Promise<number> {
  let removed = 0;
  for (const key of await listFileBlocks(storePath, fileId)) {
    if (key.sequence > sequence) continue;
    if (key.datasetIndex < placedHere.length && placedHere[key.datasetIndex] === key.blockIndex) continue;
    await removeBlock(storePath, fileId, key);
    removed++;
  }
  return removed;
}

