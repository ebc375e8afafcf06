import fs from 'node:fs/promises';
import type { CatalogRecord } from '../format/catalog-record.js';
import { datasetCountOf, type FileGeometry } from '../format/dataset-geometry.js';
import { newId, newSequence } from '../format/ids.js';
import { usageError } from '../rain-error.js';
import { forEachNewestRecord, readNewestRecords } from './catalog.js';
import { compareCatalogNames } from '../format/catalog-segment.js';
import { commitBatches } from './commit-batches.js';
import { withSession, type PoolSession } from './pool-session.js';
import { treeRootName, type SourceFile } from './put-files.js';
import { SourceList, type TreeEntries } from './walked-tree.js';
import { isExcluded, walkTree, walkTreeCompact, withoutExcluded, withoutTreeEntries, type TreeExclusion } from './tree-walk.js';
import { allowsTreeEntries } from '../format/manifest.js';
import { liveReadNames, WriterHeartbeat } from './writer-heartbeat.js';
import { deleteName } from './delete-name.js';
import { readAgain, stampToRecord } from './source-stamp.js';
import {
  compareContent, compareWithoutReading, contentFromKept, diffTree, isUnder, keepableChecksums, withContent, type EntryComparison, type TreeDiff,
} from './tree-diff.js';
import { packableSize } from './pack-plan.js';
import { openPool } from './open-pool.js';
import { isReadable } from './list-files.js';
import { writeVersions, type PlannedVersion, type SettleVersion } from './write-versions.js';

export interface SyncOptions {
  readonly pool?: string;
  readonly sourceDir: string;
  readonly as?: string;
  readonly deleteMissing?: boolean;
  readonly exclude?: TreeExclusion;
  /** Read and compare every file, whatever its stamp (`--checksum`). */
  readonly checksum?: boolean;
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface SyncReport {
  /** Files and symlinks (directories are counted in `directories`). */
  readonly added: string[];
  readonly updated: string[];
  unchanged: number;
  readonly deleted: string[];
  /**
   * Source bytes read to compare files with their records, each once: by sync itself for small
   * (packed) files, by the workers that encode them for the others. A file whose stamp matches its
   * record's is not opened; a new file's bytes are not counted.
   */
  bytesRead: number;
  /** Unchanged files whose record got a fresh source stamp (it was missing, stale or racy), so the next sync need not read them. */
  restamped: number;
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
  const walked = walkTreeCompact(options.sourceDir, prefix, warnings, options.exclude);
  return withSession(options.pool, 'sync', 'write', async (session) => {
    const { manifest } = session.pool;
    const sources: TreeEntries = allowsTreeEntries(manifest) ? walked : new SourceList(withoutTreeEntries(walked.toArray(), manifest.formatVersion ?? 1, warnings));
    const known = await settleOnStamps(session.readablePaths, sources, prefix, options);
    refuseEmptySource(options, hasFiles(sources), known.filesUnderPrefix, prefix);
    const report: SyncReport = {
      added: [], updated: [], unchanged: 0, deleted: [], bytesRead: 0, restamped: 0, bytesWritten: 0, datasetsRewritten: 0, datasetsKept: 0, directories: 0, warnings,
    };
    const heartbeat = new WriterHeartbeat(session.writablePaths);
    const totalBytes = sources.totalBytes;
    // Only what the catalog did not settle is rebuilt as objects: what changed, not the tree.
    const toCompare: SourceFile[] = [];
    let doneBytes = 0;
    for (let p = 0; p < sources.length; p++) {
      if (known.unchanged[p] === 0) toCompare.push(sources.at(p));
      else {
        doneBytes += sources.sizeBytes(p);
        // Directories are counted apart (report.directories), as the comparison below does.
        if (!sources.isDirectory(p)) report.unchanged++;
      }
    }
    if (doneBytes > 0) options.onProgress?.(doneBytes, totalBytes);
    const catalog = { records: known.previous };
    try {
      for (const committed of commitBatches(toCompare)) {
        let batch = committed;
        // A file that changed while it was read is compared and read again once; if it changes
        // again it is reported and keeps its previous version (SnapRAID: "file changed during sync").
        for (let attempt = 1; batch.length > 0; attempt++) {
          // Planned again: the newest records now (a repack may have moved a file kept in place, reused-packs.ts).
          if (attempt > 1) for (const [name, record] of (await readNewestRecords(session.readablePaths, batch.map((s) => s.name))).records) catalog.records.set(name, record);
          const planned: SyncPlan[] = [];
          for (const source of batch) {
            const previous = catalog.records.get(source.name);
            const plan = await planVersion(session, source, previous?.deleted ? undefined : previous, options.checksum === true, report);
            if (attempt === 1) {
              doneBytes += source.sizeBytes;
              options.onProgress?.(doneBytes, totalBytes);
            }
            if (plan) planned.push(plan);
            else if (source.meta?.kind !== 'dir') report.unchanged++;
          }
          const { written, changed, unchanged, comparedBytes } = await writeVersions(session, planned, heartbeat, () => undefined, report.warnings, { settle: settlerFor(session) });
          report.bytesRead += comparedBytes;
          report.unchanged += unchanged.length;
          for (const { plan, record, bytesWritten } of written) {
            if (plan.stampOnly) {
              report.restamped++;
              report.unchanged++;
              continue;
            }
            if (record.kind === 'dir') report.directories++;
            else (plan.previous ? report.updated : report.added).push(record.name);
            report.datasetsRewritten += plan.datasetsToWrite.length;
            report.datasetsKept += plan.record.datasetCount - plan.datasetsToWrite.length;
            report.bytesWritten += bytesWritten;
          }
          batch = readAgain(batch, changed.map((p) => p.record.name), attempt, report.warnings);
        }
      }
    } finally {
      await heartbeat.finish();
    }
    if (options.deleteMissing) await deleteMissing(session, known.gone, report);
    return report;
  });
}

/** What sync learns from one pass over the catalog, before it reads or writes anything. */
interface KnownNames {
  /** Per source position, 1 where the name's record matches on metadata and source stamp: nothing to read or write. */
  readonly unchanged: Uint8Array;
  /** The newest live record of every other source name the pool holds (a new version's previous one). */
  readonly previous: Map<string, CatalogRecord>;
  /** With --delete: live records under the prefix that no source has (and no exclusion covers), in name order. */
  readonly gone: CatalogRecord[];
  /** Live file records under the prefix (refuseEmptySource). */
  readonly filesUnderPrefix: number;
}

/**
 * The catalog is read one bucket at a time and each record met with its source as it goes by: a
 * file whose stamp and metadata match is settled at once and its record let go, so memory holds
 * the records of what changed, not the pool's (a sync of an unchanged 1,000,000-file tree held the
 * whole catalog, 2 GB). Only an unchanged name is settled here; everything else is compared as before.
 */
async function settleOnStamps(readablePaths: readonly string[], sources: TreeEntries, prefix: string, options: SyncOptions): Promise<KnownNames> {
  const unchanged = new Uint8Array(sources.length);
  const previous = new Map<string, CatalogRecord>();
  const gone: CatalogRecord[] = [];
  let filesUnderPrefix = 0;
  await forEachNewestRecord(readablePaths, (record) => {
    if (!record.deleted && record.kind !== 'dir' && isUnder(record.name, prefix)) filesUnderPrefix++;
    const position = sources.positionOf(record.name);
    if (position < 0) {
      if (options.deleteMissing && !record.deleted && isUnder(record.name, prefix) && !isExcluded(record, prefix, options.exclude)) gone.push(record);
      return;
    }
    if (record.deleted) return;
    const first = options.checksum ? undefined : compareWithoutReading(sources.at(position), record, { checksum: false });
    if (first && !('contentOf' in first) && !first.mark && !first.refreshStamp) unchanged[position] = 1;
    else previous.set(record.name, record);
  });
  gone.sort((a, b) => compareCatalogNames(a.name, b.name));
  return { unchanged, previous, gone, filesUnderPrefix };
}

/** Whether the walk found a file or symlink (not only directories). */
function hasFiles(sources: TreeEntries): boolean {
  for (let p = 0; p < sources.length; p++) if (!sources.isDirectory(p)) return true;
  return false;
}

/** An empty source is far more often a disk that did not mount than a wish to delete everything. */
function refuseEmptySource(options: SyncOptions, sourceHasFiles: boolean, underPrefix: number, prefix: string): void {
  if (options.deleteMissing && !sourceHasFiles && underPrefix > 0) {
    throw usageError(`${options.sourceDir} is empty; refusing to --delete all ${underPrefix} files under ${prefix}/ (use 'rain rm' to delete them)`);
  }
}

/**
 * What a sync of `sourceDir` would do, from the catalog alone: no worker is started and nothing
 * is written to any store (not even an announcement). `sync --dry-run` (names gone from the source
 * listed only with --delete) and `diff` (always listed) use it.
 */
export async function previewSync(options: SyncOptions & { readonly listDeleted: boolean }): Promise<TreeDiff & { prefix: string; warnings: string[] }> {
  const stat = await fs.stat(options.sourceDir).catch(() => undefined);
  if (!stat?.isDirectory()) throw usageError(`${options.sourceDir} is not a directory (it is compared as a tree)`);
  const prefix = treeRootName(options.as, options.sourceDir);
  const warnings: string[] = [];
  const walked = walkTree(options.sourceDir, prefix, warnings, options.exclude);
  const pool = await openPool(options.pool);
  const sources = allowsTreeEntries(pool.manifest) ? walked : withoutTreeEntries(walked, pool.manifest.formatVersion ?? 1, warnings);
  const catalog = await readNewestRecords(pool.stores.filter(isReadable).map((s) => s.path));
  const underPrefix = [...catalog.records.values()].filter((r) => !r.deleted && r.kind !== 'dir' && isUnder(r.name, prefix)).length;
  refuseEmptySource(options, sources.some((s) => s.meta?.kind !== 'dir'), underPrefix, prefix);
  // Excluded names already in the pool are neither compared nor listed as gone (sync --delete keeps them).
  const diff = await diffTree(sources, withoutExcluded(catalog.records, prefix, options.exclude), prefix, { checksum: options.checksum, geometry: pool.manifest, withDeleted: options.listDeleted });
  return { ...diff, prefix, warnings };
}

/**
 * The new version a source needs (tree-diff.ts decides whether and which data sets); undefined
 * when nothing changed. Only the data sets whose bytes changed are re-encoded.
 *
 * A file with data sets of its own in the pool is not read here: every data set is planned, and
 * the worker that encodes one reads its bytes once and keeps the previous blocks when their
 * checksum is unchanged (settlerFor then makes the version). Files that are packed, or would be,
 * are small: they are compared here as before.
 */
async function planVersion(session: PoolSession, source: SourceFile, previous: CatalogRecord | undefined, checksum: boolean, report: SyncReport): Promise<SyncPlan | undefined> {
  const { manifest } = session.pool;
  const first = compareWithoutReading(source, previous, { checksum });
  const sequence = newSequence(previous?.sequence);
  // Taken before the file is read, as the racy-timestamp rule requires.
  const writtenAt = new Date().toISOString();
  if (!('contentOf' in first)) return planFromComparison(session, source, previous, first, sequence, writtenAt);
  const before = first.contentOf;
  const keepable = packableSize(manifest, source.sizeBytes) ? undefined : keepableChecksums(source.sizeBytes, before, manifest);
  if (keepable === undefined) {
    const content = await compareContent(source, before, { geometry: manifest, counter: report });
    return planFromComparison(session, source, previous, withContent(source, before, first.reasons, content), sequence, writtenAt);
  }
  const planned = planFromComparison(session, source, before, { mark: '~', reasons: first.reasons, refreshStamp: false }, sequence, writtenAt);
  if (!planned) throw new Error(`${source.name}: a changed file planned no version`);
  return { ...planned, keepIfChecksums: keepable, metadataReasons: first.reasons };
}

/** For a version whose workers compared as they read: what the data sets they kept make of it (writeVersions' settle). */
function settlerFor(session: PoolSession): SettleVersion<SyncPlan> {
  return (plan, kept) => {
    const previous = plan.previous as CatalogRecord;
    const content = contentFromKept(plan.source.sizeBytes, previous, plan.record.datasetCount, kept);
    const found = withContent(plan.source, previous, plan.metadataReasons ?? [], content);
    return planFromComparison(session, plan.source, previous, found, plan.record.sequence, plan.record.writtenAt);
  };
}

/** The version a comparison calls for, at `sequence` (undefined: none). */
function planFromComparison(
  session: PoolSession, source: SourceFile, previous: CatalogRecord | undefined, found: EntryComparison, sequence: bigint, writtenAt: string,
): SyncPlan | undefined {
  const { manifest } = session.pool;
  if (!found.mark && !found.refreshStamp) return undefined;
  const geometry: FileGeometry = { fileSizeBytes: source.sizeBytes, k: manifest.k, blockSizeBytes: manifest.blockSizeBytes };
  const datasetCount = datasetCountOf(geometry);
  const record: CatalogRecord = {
    name: source.name, fileId: previous?.fileId ?? newId(), sequence, deleted: false, fileSizeBytes: source.sizeBytes,
    k: manifest.k, m: manifest.m, blockSizeBytes: manifest.blockSizeBytes, datasetCount, writtenAt,
    datasetChecksums: [],
    ...source.meta,
    ...stampToRecord(source),
  };
  const all = Array.from({ length: datasetCount }, (_, d) => d);
  const plan = (datasetsToWrite: readonly number[], planned: CatalogRecord): SyncPlan => ({
    sourcePath: source.path, stamp: source.stamp, source, record: planned, datasetsToWrite, previous, stampOnly: !found.mark,
  });
  if (!previous || source.meta?.kind !== undefined || previous.kind !== undefined || found.changedDatasets === undefined) return plan(all, record);
  const changed = found.changedDatasets;
  const sameBytes = changed.length === 0 && source.sizeBytes === previous.fileSizeBytes && (previous.pack !== undefined || datasetCount === previous.datasetCount);
  if (sameBytes) {
    // Same bytes, new mode, time, owner or stamp: a new version that keeps every data set (or its place in its pack).
    const { datasetSequences: _unused, sourceStamp: _stale, ...kept } = previous;
    return plan([], {
      ...kept, ...source.meta, ...stampToRecord(source), sequence, writtenAt,
      ...(previous.pack ? {} : { datasetSequences: Array.from({ length: previous.datasetCount }, (_, d) => previous.datasetSequences?.[d] ?? previous.sequence) }),
    });
  }
  if (previous.pack) return plan(all, record);
  const datasetSequences = all.map((d) => (changed.includes(d) ? sequence : previous.datasetSequences?.[d] ?? previous.sequence));
  return plan(changed, { ...record, fileId: previous.fileId, datasetSequences });
}

/** A planned version; `stampOnly` when only the record's source stamp is renewed (not reported as updated). */
interface SyncPlan extends PlannedVersion {
  readonly stampOnly: boolean;
  readonly source: SourceFile;
  /** For a version its workers compare (keepIfChecksums): what differs besides the bytes. */
  readonly metadataReasons?: readonly string[];
}

async function deleteMissing(session: PoolSession, gone: readonly CatalogRecord[], report: SyncReport): Promise<void> {
  const reading = await liveReadNames(session.readablePaths);
  for (const record of gone) {
    const outcome = await deleteName(session, record, reading);
    if (outcome.committed === 0) {
      report.warnings.push(`${record.name}: could not record the delete: ${outcome.problems[0] ?? ''}`);
      continue;
    }
    for (const problem of outcome.problems) report.warnings.push(`${record.name}: ${problem}`);
    report.deleted.push(record.name);
  }
}
