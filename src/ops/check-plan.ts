import type { PlanContents } from '../cluster/init-coordinator.js';
import { plannedFile, type StoreScan, type UncommittedVersion } from '../cluster/protocol.js';
import { staleAfterMs } from '../cluster/timing.js';
import type { WorkerCluster } from '../cluster/worker-cluster.js';
import type { CatalogRecord } from '../format/catalog-record.js';
import { readIntents } from '../store/writer-intents.js';
import { liveRecords, readNewestRecords } from './catalog.js';

/**
 * Everything the workers need to split the check between them: the committed files, the newest
 * sequence of every name (tombstones included), the versions on the stores that no record names
 * (unfinished writes), which of those belong to writers still alive, and deleted files' leftovers.
 */
export async function buildCheckPlan(cluster: WorkerCluster, readable: readonly { slot: number; path: string }[]): Promise<PlanContents> {
  const readablePaths = readable.map((s) => s.path);
  const catalog = await readNewestRecords(readablePaths);
  const byFileId = new Map<string, CatalogRecord>();
  for (const record of catalog.records.values()) byFileId.set(record.fileId, record);
  // A worker that dies or stalls now (a remote host gone) simply contributes no scan: it will not
  // register, its share is taken over, and versions only it holds are left for the next check.
  const scans = (await Promise.all(cluster.workers.filter((w) => w.alive).map(async (w) => {
    const scan = await w.request<StoreScan>({ op: 'scan', detailed: true }).catch(() => undefined);
    return scan ? [{ slot: w.slot, scan }] : [];
  }))).flat();
  // Files the data set check must list: blocks at another sequence than the one of all their
  // data sets (garbage, an update in flight), or updated in part (an older data set's sequence
  // can be shared by garbage). Every other file's blocks are at one sequence only.
  const toList = new Set<string>();
  for (const record of byFileId.values()) {
    if (record.datasetSequences?.some((sequence) => sequence !== record.sequence)) toList.add(record.fileId);
  }
  const holders = new Map<string, { fileId: string; sequence: bigint; slots: number[] }>();
  for (const { slot, scan } of scans) {
    for (const [fileId, sequences] of Object.entries(scan.sequences ?? {})) {
      const record = byFileId.get(fileId);
      for (const sequence of sequences) {
        if (record && sequence !== record.sequence) toList.add(fileId);
        // At or below the committed sequence: the current version or garbage the data set check collects.
        if (record && sequence <= record.sequence) continue;
        const key = `${fileId}@${sequence}`;
        const entry = holders.get(key) ?? { fileId, sequence, slots: [] };
        entry.slots.push(slot);
        holders.set(key, entry);
      }
    }
  }
  // Without every readable store's scan, what an unscanned store holds is unknown: list every file.
  const filesToList = readable.every((store) => scans.some((s) => s.slot === store.slot)) ? [...toList] : undefined;
  const uncommitted: UncommittedVersion[] = [...holders.values()].sort((a, b) => (a.fileId < b.fileId ? -1 : a.fileId > b.fileId ? 1 : a.sequence < b.sequence ? -1 : 1));
  const liveVersions = new Set<string>();
  const freshAfter = Date.now() - staleAfterMs();
  for (const storePath of readablePaths) {
    for (const intent of await readIntents(storePath).catch(() => [])) {
      if (intent.at < freshAfter) continue;
      for (const v of intent.versions) liveVersions.add(`${v.fileId}@${v.sequence}`);
    }
  }
  return {
    committed: liveRecords(catalog).map(plannedFile),
    newestByName: [...catalog.records.values()].map((r) => [r.name, r.sequence] as const),
    uncommitted,
    liveVersions: [...liveVersions],
    deleted: [...catalog.records.values()].filter((r) => r.deleted).map((r) => ({ fileId: r.fileId, sequence: r.sequence })),
    filesToList,
  };
}

