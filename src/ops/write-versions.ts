import type { EncodeResult } from '../cluster/protocol.js';
import { faultPoint } from '../cluster/fault-points.js';
import { datasetSequence, type CatalogRecord } from '../format/catalog-record.js';
import { datasetExtent } from '../format/dataset-geometry.js';
import { ioError } from '../rain-error.js';
import { commitRecords, dropOlderRecordsOf } from './catalog.js';
import type { PoolSession } from './pool-session.js';
import type { WriterHeartbeat } from './writer-heartbeat.js';

/** One new version of one name: which data sets to encode from `sourcePath`, the rest kept. */
export interface PlannedVersion {
  readonly sourcePath: string;
  /** datasetChecksums is filled in from what the workers actually read. */
  readonly record: CatalogRecord;
  readonly datasetsToWrite: readonly number[];
  /** The name's newest record (tombstones too); required whenever record.fileId is reused from it. */
  readonly previous?: CatalogRecord;
}

export interface WrittenVersion {
  readonly record: CatalogRecord;
  readonly missingBlocks: number;
  readonly bytesWritten: number;
}

/**
 * Writes new versions the crash-safe way (docs/PROTOCOL.md): announce them (writer intent) ->
 * every changed data set encoded by its responsible worker as new block files at the new
 * sequence -> directories fsynced -> the catalog record written to every store (the commit
 * point) -> only then the older blocks removed. A crash before the commit leaves the old version
 * readable and the new blocks for the next check to finish or undo.
 */
export async function writeVersions(
  session: PoolSession, planned: readonly PlannedVersion[], heartbeat: WriterHeartbeat,
  progress: (bytes: number) => void, warnings: string[],
): Promise<WrittenVersion[]> {
  const { manifest } = session.pool;
  const results = planned.map(() => new Map<number, EncodeResult>());
  await heartbeat.announce(planned.map((p) => p.record));
  await faultPoint('put-announced');
  try {
    await session.cluster.runDatasets<EncodeResult>(planned.flatMap((p, i) => p.datasetsToWrite.map((d) => ({
      fileId: p.record.fileId,
      datasetIndex: d,
      request: { op: 'encode' as const, ref: session.datasetRef(p.record, d), sourcePath: p.sourcePath },
      done: (result: EncodeResult) => {
        results[i].set(d, result);
        if (result.written.length < manifest.k) {
          throw ioError(`${p.record.name}: data set ${d} reached only ${result.written.length} stores, ${manifest.k} needed: ${result.failed.map((f) => f.reason).join('; ')}`);
        }
        progress(Math.min(p.record.fileSizeBytes - d * manifest.k * manifest.blockSizeBytes, manifest.k * manifest.blockSizeBytes));
      },
    }))));
    await session.cluster.flush();
    await faultPoint('put-blocks-written');
  } catch (error) {
    await undoBlocks(session, planned.map((p) => p.record));
    throw error;
  }
  const records = planned.map((p, i): CatalogRecord => ({
    ...p.record,
    datasetChecksums: Array.from({ length: p.record.datasetCount }, (_, d) => results[i].get(d)?.dataChecksum ?? p.previous?.datasetChecksums[d] ?? 0),
  }));
  // Every version's blocks are durable (flushed above), so all records may commit together.
  const commits = await commitRecords(session.writablePaths, records);
  const written: WrittenVersion[] = [];
  // Replaced names whose new version is complete: their older record files go at the end. A name
  // with no record before this put has none, so its catalog bucket is not listed for nothing.
  const superseding: CatalogRecord[] = [];
  for (let i = 0; i < planned.length; i++) {
    const record = records[i];
    const encoded = results[i];
    const commit = commits[i];
    if (commit.written === 0) {
      await undoBlocks(session, [record]);
      throw ioError(`${record.name}: the catalog record could not be written to any store: ${commit.errors[0] ?? ''}`);
    }
    await faultPoint('put-committed');
    const missingBlocks = [...encoded.values()].reduce((sum, r) => sum + r.failed.length, 0);
    const geometry = { fileSizeBytes: record.fileSizeBytes, k: record.k, blockSizeBytes: record.blockSizeBytes };
    const bytesWritten = [...encoded.values()].reduce((sum, r) => sum + r.written.length * datasetExtent(geometry, r.datasetIndex).shardBytes, 0);
    if (commit.written < manifest.m + 1) warnings.push(`${record.name}: catalog record on only ${commit.written} stores; run 'rain rebuild'`);
    if (missingBlocks > 0) {
      warnings.push(`${record.name}: ${missingBlocks} blocks not written (stores down); run 'rain rebuild' when they are back`);
    } else {
      // Complete on every store that should hold it: the older blocks are garbage now. A file
      // id drawn fresh for this version (no previous record) has no older blocks to look for.
      if (planned[i].previous !== undefined) {
        superseding.push(record);
        const datasetSequences = Array.from({ length: record.datasetCount }, (_, d) => datasetSequence(record, d));
        await Promise.all(session.cluster.workers.filter((w) => w.alive).map((w) => w.request({
          op: 'collect-older', fileId: record.fileId, sequence: record.sequence, datasetSequences,
        }).catch(() => undefined)));
      }
    }
    written.push({ record, missingBlocks, bytesWritten });
  }
  await dropOlderRecordsOf(session.writablePaths, superseding);
  return written;
}

/** A write that failed leaves no blocks of its version behind (best effort; the check collects the rest). */
async function undoBlocks(session: PoolSession, records: readonly CatalogRecord[]): Promise<void> {
  for (const record of records) {
    await Promise.all(session.cluster.workers.filter((w) => w.alive).map((w) => w.request({
      op: 'remove-blocks', fileId: record.fileId, sequence: record.sequence, which: 'exactly',
    }).catch(() => undefined)));
  }
}
