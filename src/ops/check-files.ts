import { emptyHealth, foldCheckResult, settleState, type FileHealth } from '../cluster/file-health.js';
import type { CheckResult } from '../cluster/protocol.js';
import type { CatalogRecord } from '../format/catalog-record.js';
import type { PoolSession } from './pool-session.js';

export type { FileHealth, FileState } from '../cluster/file-health.js';

/**
 * Runs the consistency check of every data set of `records` on its responsible worker and folds
 * the per-block verdicts into one health line per file. `verify` uses this without repair; the
 * full initialization protocol (rain check, rebuild) lives in cluster/init-coordinator.ts.
 */
export async function checkFiles(
  session: PoolSession, records: readonly CatalogRecord[], repair: boolean,
  onProgress?: (doneBytes: number, totalBytes: number) => void,
): Promise<FileHealth[]> {
  const totalBytes = records.reduce((sum, r) => sum + r.fileSizeBytes, 0);
  let doneBytes = 0;
  const healths = records.map((record) => emptyHealth(record));
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
            foldCheckResult(health, result);
            doneBytes += Math.min(record.k * record.blockSizeBytes, record.fileSizeBytes - d * record.k * record.blockSizeBytes);
            onProgress?.(doneBytes, totalBytes);
          },
        };
      }
    }
  }
  await session.cluster.runDatasets<CheckResult>(tasks());
  if (repair) await session.cluster.flush();
  for (const health of healths) settleState(health, repair);
  return healths;
}
