import fs from 'node:fs/promises';
import path from 'node:path';
import type { CatalogRecord } from '../format/catalog-record.js';
import { crc32Of } from '../format/checksum.js';
import { datasetCountOf, datasetExtent, type FileGeometry } from '../format/dataset-geometry.js';
import { newId, newSequence } from '../format/ids.js';
import { describeError, usageError } from '../rain-error.js';
import { readNewestRecords } from './catalog.js';
import { commitBatches } from './commit-batches.js';
import { withSession, type PoolSession } from './pool-session.js';
import { treeRootName, type SourceFile } from './put-files.js';
import { walkTree, withoutExcluded, withoutTreeEntries, type TreeExclusion } from './tree-walk.js';
import { allowsTreeEntries } from '../format/manifest.js';
import { fsPath } from '../format/wire-path.js';
import { liveReadNames, WriterHeartbeat } from './writer-heartbeat.js';
import { deleteName } from './delete-name.js';
import { readAgain } from './source-stamp.js';
import { writeVersions, type PlannedVersion } from './write-versions.js';

export interface SyncOptions {
  readonly pool?: string;
  readonly sourceDir: string;
  readonly as?: string;
  readonly deleteMissing?: boolean;
  readonly exclude?: TreeExclusion;
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface SyncReport {
  /** Files and symlinks (directories are counted in `directories`). */
  readonly added: string[];
  readonly updated: string[];
  unchanged: number;
  readonly deleted: string[];
  bytesRead: number;
  bytesWritten: number;
  datasetsRewritten: number;
  datasetsKept: number;
  /** Directory entries added or given a new version (their mode or mtime changed). */
  directories: number;
  readonly warnings: string[];
}

/**
 * Brings the pool in line with a directory. A changed file gets a new version in which only the
 * data sets whose bytes changed are re-encoded (their CRC-32 differs from the catalog's), at the
 * new sequence; unchanged data sets keep their blocks and sequence. Deletions with --delete.
 */
export async function syncDirectory(options: SyncOptions): Promise<SyncReport> {
  const stat = await fs.stat(options.sourceDir).catch(() => undefined);
  if (!stat?.isDirectory()) throw usageError(`${options.sourceDir} is not a directory (sync takes a directory)`);
  const prefix = treeRootName(options.as, options.sourceDir);
  const warnings: string[] = [];
  const walked = walkTree(options.sourceDir, prefix, warnings, options.exclude);
  return withSession(options.pool, 'sync', 'write', async (session) => {
    const { manifest } = session.pool;
    const sources = allowsTreeEntries(manifest) ? walked : withoutTreeEntries(walked, manifest.formatVersion ?? 1, warnings);
    const catalog = await readNewestRecords(session.readablePaths);
    const underPrefix = [...catalog.records.values()].filter((r) => !r.deleted && r.kind !== 'dir' && r.name.startsWith(`${prefix}/`)).length;
    if (options.deleteMissing && !sources.some((s) => s.meta?.kind !== 'dir') && underPrefix > 0) {
      // An empty source is far more often a disk that did not mount than a wish to delete everything.
      throw usageError(`${options.sourceDir} is empty; refusing to --delete all ${underPrefix} files under ${prefix}/ (use 'rain rm' to delete them)`);
    }
    const report: SyncReport = {
      added: [], updated: [], unchanged: 0, deleted: [], bytesRead: 0, bytesWritten: 0, datasetsRewritten: 0, datasetsKept: 0, directories: 0, warnings,
    };
    const heartbeat = new WriterHeartbeat(session.writablePaths);
    const totalBytes = sources.reduce((sum, s) => sum + s.sizeBytes, 0);
    let doneBytes = 0;
    try {
      for (const committed of commitBatches(sources)) {
        let batch = committed;
        // A file that changed while the workers read it is compared and read again once; if it
        // changes again it is reported and keeps its previous version (SnapRAID: "file changed during sync").
        for (let attempt = 1; batch.length > 0; attempt++) {
          const planned: PlannedVersion[] = [];
          for (const source of batch) {
            const previous = catalog.records.get(source.name);
            const plan = await planVersion(session, source, previous?.deleted ? undefined : previous, report);
            if (attempt === 1) {
              doneBytes += source.sizeBytes;
              options.onProgress?.(doneBytes, totalBytes);
            }
            if (plan) planned.push(plan);
            else if (source.meta?.kind !== 'dir') report.unchanged++;
          }
          const { written, changed } = await writeVersions(session, planned, heartbeat, () => undefined, report.warnings);
          const planOf = new Map(planned.map((p) => [p.record.name, p]));
          for (const w of written) {
            const plan = planOf.get(w.record.name) as PlannedVersion;
            if (w.record.kind === 'dir') report.directories++;
            else (plan.previous ? report.updated : report.added).push(w.record.name);
            report.datasetsRewritten += plan.datasetsToWrite.length;
            report.datasetsKept += plan.record.datasetCount - plan.datasetsToWrite.length;
            report.bytesWritten += w.bytesWritten;
          }
          batch = readAgain(batch, changed.map((p) => p.record.name), attempt, report.warnings);
        }
      }
    } finally {
      await heartbeat.finish();
    }
    if (options.deleteMissing) await deleteMissing(session, withoutExcluded(catalog.records, prefix, options.exclude), prefix, new Set(sources.map((s) => s.name)), report);
    return report;
  });
}

/** Compares the source with the catalog data set by data set; undefined when nothing changed. */
async function planVersion(session: PoolSession, source: SourceFile, previous: CatalogRecord | undefined, report: SyncReport): Promise<PlannedVersion | undefined> {
  const { manifest } = session.pool;
  const geometry: FileGeometry = { fileSizeBytes: source.sizeBytes, k: manifest.k, blockSizeBytes: manifest.blockSizeBytes };
  const datasetCount = datasetCountOf(geometry);
  const sequence = newSequence(previous?.sequence);
  const record: CatalogRecord = {
    name: source.name, fileId: previous?.fileId ?? newId(), sequence, deleted: false, fileSizeBytes: source.sizeBytes,
    k: manifest.k, m: manifest.m, blockSizeBytes: manifest.blockSizeBytes, datasetCount, writtenAt: new Date().toISOString(),
    datasetChecksums: [],
    ...source.meta,
  };
  const all = Array.from({ length: datasetCount }, (_, d) => d);
  const sameMetadata = previous !== undefined && metadataKey(previous) === metadataKey(record);
  // A directory or symlink is all metadata; a file whose kind changed is written whole.
  if (source.meta?.kind !== undefined || previous?.kind !== undefined) {
    return sameMetadata ? undefined : { sourcePath: source.path, stamp: source.stamp, record, datasetsToWrite: all, previous };
  }
  // Same bytes, new mode, time or owner: a new version that keeps every data set (or its place in its pack).
  const metadataOnly = (): PlannedVersion | undefined => {
    if (sameMetadata || !previous) return undefined;
    const { datasetSequences: _unused, ...kept } = previous;
    return {
      sourcePath: source.path, stamp: source.stamp, datasetsToWrite: [], previous,
      record: {
        ...kept, ...source.meta, sequence, writtenAt: record.writtenAt,
        ...(previous.pack ? {} : { datasetSequences: Array.from({ length: previous.datasetCount }, (_, d) => previous.datasetSequences?.[d] ?? previous.sequence) }),
      },
    };
  };
  if (previous?.pack) {
    // A packed file (docs/FORMAT.md §5.1) is compared whole with its own checksum, and written whole when it changed.
    if (source.sizeBytes === previous.fileSizeBytes && await fileChecksum(source.path, source.sizeBytes, report) === previous.pack.fileChecksum) return metadataOnly();
    return { sourcePath: source.path, stamp: source.stamp, record, datasetsToWrite: all, previous };
  }
  const comparable = previous && previous.k === manifest.k && previous.blockSizeBytes === manifest.blockSizeBytes
    && previous.datasetChecksums.length === previous.datasetCount;
  if (!previous || !comparable) return { sourcePath: source.path, stamp: source.stamp, record, datasetsToWrite: all, previous };

  const previousGeometry: FileGeometry = { fileSizeBytes: previous.fileSizeBytes, k: previous.k, blockSizeBytes: previous.blockSizeBytes };
  const changed: number[] = [];
  const handle = await fs.open(fsPath(source.path), 'r').catch((error: unknown) => {
    throw usageError(`${source.path}: ${describeError(error)}`);
  });
  try {
    const buffer = Buffer.allocUnsafe(manifest.k * manifest.blockSizeBytes);
    for (const d of all) {
      const extent = datasetExtent(geometry, d);
      const before = d < previous.datasetCount ? datasetExtent(previousGeometry, d) : undefined;
      // A data set is reusable only if it covers the same bytes with the same shard length.
      if (!before || before.dataBytes !== extent.dataBytes || before.shardBytes !== extent.shardBytes) {
        changed.push(d);
        continue;
      }
      let filled = 0;
      while (filled < extent.dataBytes) {
        const { bytesRead } = await handle.read(buffer, filled, extent.dataBytes - filled, extent.fileOffsetBytes + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      report.bytesRead += filled;
      if (filled !== extent.dataBytes || crc32Of(buffer.subarray(0, filled)) !== previous.datasetChecksums[d]) changed.push(d);
    }
  } finally {
    await handle.close();
  }
  if (changed.length === 0 && datasetCount === previous.datasetCount && source.sizeBytes === previous.fileSizeBytes) return metadataOnly();
  const datasetSequences = all.map((d) => (changed.includes(d) ? sequence : previous.datasetSequences?.[d] ?? previous.sequence));
  return {
    sourcePath: source.path,
    stamp: source.stamp,
    record: { ...record, fileId: previous.fileId, datasetSequences },
    datasetsToWrite: changed,
    previous,
  };
}

/** The CRC-32 of a small file's first `sizeBytes` bytes (undefined if it is shorter now). */
async function fileChecksum(sourcePath: string, sizeBytes: number, report: SyncReport): Promise<number | undefined> {
  const bytes = await fs.readFile(fsPath(sourcePath)).catch((error: unknown) => {
    throw usageError(`${sourcePath}: ${describeError(error)}`);
  });
  report.bytesRead += bytes.length;
  return bytes.length === sizeBytes ? crc32Of(bytes) : undefined;
}

/** What a sync compares besides the bytes: kind, mode, time, owner, link target and hard-link group. */
function metadataKey(r: CatalogRecord): string {
  return JSON.stringify([r.kind, r.mode, r.mtimeNs?.toString(), r.uid, r.gid, r.target, r.linkGroup]);
}

async function deleteMissing(
  session: PoolSession, records: ReadonlyMap<string, CatalogRecord>, prefix: string, present: ReadonlySet<string>, report: SyncReport,
): Promise<void> {
  const reading = await liveReadNames(session.readablePaths);
  for (const record of records.values()) {
    if (record.deleted || !record.name.startsWith(`${prefix}/`) || present.has(record.name)) continue;
    const outcome = await deleteName(session, record, reading);
    if (outcome.committed === 0) {
      report.warnings.push(`${record.name}: could not record the delete: ${outcome.problems[0] ?? ''}`);
      continue;
    }
    for (const problem of outcome.problems) report.warnings.push(`${record.name}: ${problem}`);
    report.deleted.push(record.name);
  }
}
