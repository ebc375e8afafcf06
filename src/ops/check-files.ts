import { emptyHealth, foldCheckResult, settleState, type FileHealth } from '../dataset/file-health.js';
import type { CheckResult } from '../cluster/protocol.js';
import type { DatasetTask } from '../cluster/worker-cluster.js';
import { packRecordOf, type CatalogRecord } from '../format/catalog-record.js';
import { datasetExtent } from '../format/dataset-geometry.js';
import { packKey } from './decode-tasks.js';
import { readNewestRecords } from './catalog.js';
import type { PoolSession } from './pool-session.js';
import { isSuperseded } from './read-retry.js';

export type { FileHealth, FileState } from '../dataset/file-health.js';

type Verdict = CheckResult & { toConfirm?: boolean };

/**
 * Runs the consistency check of every data set of the records it is given, batch after batch, on
 * each data set's responsible worker, and folds the per-block verdicts into one health line per
 * file. `verify` uses this without repair; the full initialization protocol (rain check, rebuild)
 * lives in cluster/init-coordinator.ts.
 *
 * A pack is checked once, when the first batch holding one of its files comes by; every file
 * packed in it, in that batch or a later one, gets its verdict (a pack's files are spread over
 * every catalog bucket, and a verify hands over one bucket at a time). Batches may be handed
 * over while earlier ones are still being checked: their data sets are sent to the workers one
 * batch after another, so the workers' in-flight limit holds, and only the folding of a pack's
 * files waits for the pack.
 *
 * No verdict without re-reading: the files of a batch whose check found anything not good have
 * their records read again, and a file rewritten meanwhile is 'superseded', not degraded or lost.
 */
export class FileChecks {
  private readonly packs = new Map<string, Promise<Verdict>>();
  /** The batches' data sets go to the workers one batch at a time. */
  private turn: Promise<void> = Promise.resolve();

  constructor(
    private readonly session: PoolSession,
    private readonly repair: boolean,
    /** Bytes of file data (a pack: all of it) whose check finished, as they finish. */
    private readonly onCheckedBytes?: (bytes: number) => void,
    /** A partial scrub: only these data sets (a pack's: its file id, data set 0) are read. */
    private readonly selected: (fileId: string, datasetIndex: number) => boolean = () => true,
  ) {}

  /**
   * Bytes of file data the check of `records` will read that no earlier batch's check reads: of
   * packs (each counted once, whole) and of files checked on their own.
   */
  bytesToCheck(records: readonly CatalogRecord[]): { packBytes: number; fileBytes: number } {
    let packBytes = 0;
    let fileBytes = 0;
    const seen = new Set<string>();
    for (const record of records) {
      const key = packKey(record);
      if (key === undefined) {
        for (let d = 0; d < record.datasetCount; d++) if (this.selected(record.fileId, d)) fileBytes += datasetBytes(record, d);
      } else if (!this.packs.has(key) && !seen.has(key)) {
        seen.add(key);
        const pack = packRecordOf(record);
        if (this.selected(pack.fileId, 0)) packBytes += pack.fileSizeBytes;
      }
    }
    return { packBytes, fileBytes };
  }

  /** The settled health of each of `records`, in their order. */
  async check(records: readonly CatalogRecord[]): Promise<FileHealth[]> {
    const healths = records.map((record) => emptyHealth(record));
    const toConfirm = new Set<number>();
    const started = new Map<string, { resolve: (verdict: Verdict) => void; reject: (error: unknown) => void }>();
    const tasks: DatasetTask<Verdict>[] = [];
    for (const record of records) {
      const key = packKey(record);
      if (key === undefined || this.packs.has(key)) continue;
      const pack = packRecordOf(record);
      if (!this.selected(pack.fileId, 0)) continue;
      let settle!: { resolve: (verdict: Verdict) => void; reject: (error: unknown) => void };
      const verdict = new Promise<Verdict>((resolve, reject) => { settle = { resolve, reject }; });
      // Awaited by the batches holding the pack's files; a failed run rejects it for all of them at once.
      verdict.catch(() => undefined);
      this.packs.set(key, verdict);
      started.set(key, settle);
      tasks.push({
        fileId: pack.fileId, datasetIndex: 0, request: { op: 'check', ref: this.session.datasetRef(pack, 0), repair: this.repair },
        done: (result) => {
          settle.resolve(result);
          this.onCheckedBytes?.(pack.fileSizeBytes);
        },
      });
    }
    records.forEach((record, i) => {
      if (record.pack) return;
      for (let d = 0; d < record.datasetCount; d++) {
        if (!this.selected(record.fileId, d)) continue;
        tasks.push({
          fileId: record.fileId, datasetIndex: d, request: { op: 'check', ref: this.session.datasetRef(record, d), repair: this.repair },
          done: (result) => {
            foldCheckResult(healths[i], result);
            if (result.toConfirm) toConfirm.add(i);
            this.onCheckedBytes?.(datasetBytes(record, d));
          },
        });
      }
    });
    const run = this.turn.then(async () => {
      await this.session.cluster.runDatasets<Verdict>(tasks);
      if (this.repair) await this.session.cluster.flush();
    });
    this.turn = run.catch(() => undefined);
    try {
      await run;
    } catch (error) {
      for (const settle of started.values()) settle.reject(error);
      throw error;
    }
    for (let i = 0; i < records.length; i++) {
      const key = packKey(records[i]);
      const verdict = key === undefined ? undefined : this.packs.get(key);
      if (verdict === undefined) continue;
      const result = await verdict;
      foldCheckResult(healths[i], result);
      if (result.toConfirm) toConfirm.add(i);
    }
    if (toConfirm.size > 0) {
      const now = await readNewestRecords(this.session.readablePaths, [...toConfirm].map((i) => records[i].name));
      for (const i of toConfirm) {
        if (!isSuperseded(records[i], now.records.get(records[i].name))) continue;
        healths[i] = { ...emptyHealth(records[i]), supersededDatasets: records[i].datasetCount };
      }
    }
    for (const health of healths) settleState(health, this.repair);
    return healths;
  }
}

function datasetBytes(record: CatalogRecord, d: number): number {
  return datasetExtent(record, d).dataBytes;
}
