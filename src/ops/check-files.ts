import { emptyHealth, foldCheckResult, settleState, type FileHealth } from '../dataset/file-health.js';
import type { CheckResult } from '../cluster/protocol.js';
import { packRecordOf, type CatalogRecord } from '../format/catalog-record.js';
import { packKey } from './decode-tasks.js';
import { readNewestRecords } from './catalog.js';
import type { PoolSession } from './pool-session.js';
import { isSuperseded } from './read-retry.js';

export type { FileHealth, FileState } from '../dataset/file-health.js';

/**
 * Runs the consistency check of every data set of `records` on its responsible worker and folds
 * the per-block verdicts into one health line per file. `verify` uses this without repair; the
 * full initialization protocol (rain check, rebuild) lives in cluster/init-coordinator.ts.
 * No verdict without re-reading: the files whose check found anything not good have their
 * records read again (all at once, after the checks) and a file rewritten meanwhile is
 * 'superseded', not degraded or lost.
 */
export async function checkFiles(
  session: PoolSession, records: readonly CatalogRecord[], repair: boolean,
  onProgress?: (doneBytes: number, totalBytes: number) => void,
  /** A partial scrub: only these data sets (a pack's: its file id, data set 0) are read. */
  selected?: (fileId: string, datasetIndex: number) => boolean,
): Promise<FileHealth[]> {
  const isSelected = selected ?? (() => true);
  const datasetBytes = (record: CatalogRecord, d: number): number => Math.min(record.k * record.blockSizeBytes, record.fileSizeBytes - d * record.k * record.blockSizeBytes);
  let totalBytes = 0;
  for (const record of records) {
    if (record.pack) totalBytes += isSelected(record.pack.fileId, 0) ? record.fileSizeBytes : 0;
    else for (let d = 0; d < record.datasetCount; d++) totalBytes += isSelected(record.fileId, d) ? datasetBytes(record, d) : 0;
  }
  let doneBytes = 0;
  const healths = records.map((record) => emptyHealth(record));
  const toConfirm = new Set<number>();
  function* tasks() {
    // A pack is checked once for all the files packed in it; each of them gets its verdict.
    const byPack = new Map<string, number[]>();
    records.forEach((record, i) => {
      const key = packKey(record);
      if (key === undefined) return;
      // Pushed, not copied: a copy per member was quadratic in a pack's files (1,370 per pack at 1 M files).
      const members = byPack.get(key);
      if (members) members.push(i);
      else byPack.set(key, [i]);
    });
    for (const members of byPack.values()) {
      const pack = packRecordOf(records[members[0]]);
      if (!isSelected(pack.fileId, 0)) continue;
      yield {
        fileId: pack.fileId,
        datasetIndex: 0,
        request: { op: 'check' as const, ref: session.datasetRef(pack, 0), repair },
        done: (result: CheckResult & { toConfirm?: boolean }) => {
          for (const i of members) {
            foldCheckResult(healths[i], result);
            if (result.toConfirm) toConfirm.add(i);
            doneBytes += records[i].fileSizeBytes;
          }
          onProgress?.(doneBytes, totalBytes);
        },
      };
    }
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      const health = healths[i];
      if (record.pack) continue;
      for (let d = 0; d < record.datasetCount; d++) {
        if (!isSelected(record.fileId, d)) continue;
        yield {
          fileId: record.fileId,
          datasetIndex: d,
          request: { op: 'check' as const, ref: session.datasetRef(record, d), repair },
          done: (result: CheckResult & { toConfirm?: boolean }) => {
            foldCheckResult(health, result);
            if (result.toConfirm) toConfirm.add(i);
            doneBytes += datasetBytes(record, d);
            onProgress?.(doneBytes, totalBytes);
          },
        };
      }
    }
  }
  await session.cluster.runDatasets<CheckResult>(tasks());
  if (repair) await session.cluster.flush();
  if (toConfirm.size > 0) {
    const now = await readNewestRecords(session.readablePaths, [...toConfirm].map((i) => records[i].name));
    for (const i of toConfirm) {
      if (!isSuperseded(records[i], now.records.get(records[i].name))) continue;
      healths[i] = { ...emptyHealth(records[i]), supersededDatasets: records[i].datasetCount };
    }
  }
  for (const health of healths) settleState(health, repair);
  return healths;
}
