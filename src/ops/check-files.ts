import type { BlockStatus, CheckResult } from '../cluster/protocol.js';
import type { CatalogRecord } from '../format/catalog-record.js';
import type { PoolSession } from './pool-session.js';

export type FileState = 'healthy' | 'degraded' | 'lost';

export interface FileHealth {
  readonly name: string;
  readonly sizeBytes: number;
  readonly datasets: number;
  state: FileState;
  readonly blocks: Record<BlockStatus, number>;
  /** Blocks that exist in a newer, uncommitted version (an update in progress or abandoned). */
  newerBlocks: number;
  repairedBlocks: number;
  unrepairedBlocks: number;
  readonly lostDatasets: number[];
  /** A few lines of detail ("data set 3 block 1 on store 2: payload checksum mismatch"). */
  readonly details: string[];
}

const MAX_DETAILS_PER_FILE = 8;

/**
 * Runs the consistency check of every data set of `records` on its responsible worker and folds
 * the per-block verdicts into one health line per file. With `repair`, workers also rebuild.
 */
export async function checkFiles(
  session: PoolSession, records: readonly CatalogRecord[], repair: boolean,
  onProgress?: (doneBytes: number, totalBytes: number) => void,
): Promise<FileHealth[]> {
  const totalBytes = records.reduce((sum, r) => sum + r.fileSizeBytes, 0);
  let doneBytes = 0;
  const healths = records.map((record): FileHealth => ({
    name: record.name, sizeBytes: record.fileSizeBytes, datasets: record.datasetCount, state: 'healthy',
    blocks: { good: 0, missing: 0, corrupt: 0, stale: 0 }, newerBlocks: 0, repairedBlocks: 0, unrepairedBlocks: 0,
    lostDatasets: [], details: [],
  }));
  function* tasks() {
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      const health = healths[i];
      for (let d = 0; d < record.datasetCount; d++) {
        yield {
          fileId: record.fileId,
          datasetIndex: d,
          request: { op: 'check' as const, ref: session.datasetRef(record, d), repair },
          done: (result: CheckResult) => {
            fold(health, result);
            doneBytes += Math.min(record.k * record.blockSizeBytes, record.fileSizeBytes - d * record.k * record.blockSizeBytes);
            onProgress?.(doneBytes, totalBytes);
          },
        };
      }
    }
  }
  await session.cluster.runDatasets<CheckResult>(tasks());
  if (repair) await session.cluster.flush();
  for (const health of healths) {
    const badBlocks = health.blocks.missing + health.blocks.corrupt + health.blocks.stale;
    // After a repair, a file is healthy again when every bad block was rewritten and verified.
    const stillBad = repair ? health.unrepairedBlocks : badBlocks;
    health.state = health.lostDatasets.length > 0 ? 'lost' : stillBad > 0 ? 'degraded' : 'healthy';
  }
  return healths;
}

function fold(health: FileHealth, result: CheckResult): void {
  for (const block of result.blocks) {
    health.blocks[block.status]++;
    if (block.newerPresent) health.newerBlocks++;
    if (block.status !== 'good' && health.details.length < MAX_DETAILS_PER_FILE) {
      health.details.push(`data set ${result.datasetIndex} block ${block.blockIndex} on store ${block.slot}: ${block.status}${block.detail ? ` (${block.detail})` : ''}`);
    }
  }
  if (!result.recoverable) health.lostDatasets.push(result.datasetIndex);
  health.repairedBlocks += result.repaired.length;
  health.unrepairedBlocks += result.unrepaired.length;
  for (const u of result.unrepaired) {
    if (health.details.length < MAX_DETAILS_PER_FILE) health.details.push(`data set ${result.datasetIndex} block ${u.blockIndex}: not repaired (${u.reason})`);
  }
}
