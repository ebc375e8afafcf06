import { randomBytes } from 'node:crypto';
import os from 'node:os';
import fs from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { CatalogRecord } from '../format/catalog-record.js';
import { datasetCountOf } from '../format/dataset-geometry.js';
import { checkFileName } from '../format/file-name.js';
import { allowsTreeEntries } from '../format/manifest.js';
import { escapeBytes } from '../format/name-bytes.js';
import { ownMetadata, walkTreeCompact, withoutTreeEntries, type TreeExclusion } from './tree-walk.js';
import { SourceList, WalkedTree, type TreeEntries } from './walked-tree.js';
import { newId, newSequence } from '../format/ids.js';
import { badInputError, describeError, errnoCode, ioError, usageError } from '../rain-error.js';
import { tempPathIn } from '../store/durable-file.js';
import { forEachNewestRecord, readNewestRecords } from './catalog.js';
import { entryBatches } from './commit-batches.js';
import { writeVersions, type PlannedVersion } from './write-versions.js';
import { withSession, type PoolSession } from './pool-session.js';
import { WriterHeartbeat } from './writer-heartbeat.js';
import { trackUnfinishedFile, untrackUnfinishedFile } from './unfinished-files.js';
import { hasBytesPast, readAgain, stampOf, stampToRecord, type SourceFile } from './source-stamp.js';

export type { SourceFile } from './source-stamp.js';
import { isRemoteStorePath } from '../store/store-location.js';

export interface PutOptions {
  readonly pool?: string;
  /** A file, a directory (with recursive), or '-' for standard input. */
  readonly source: string;
  readonly as?: string;
  readonly recursive?: boolean;
  /** With recursive: the entries to leave out (--exclude). */
  readonly exclude?: TreeExclusion;
  readonly stdin?: Readable;
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
  /**
   * Keep a report line for every file (`--json` lists them); otherwise only the first is kept and
   * the rest counted, so a put -r of a million files does not hold a million report lines.
   */
  readonly listFiles?: boolean;
}

export interface PutFileReport {
  readonly name: string;
  /** Absent for a regular file. */
  readonly kind?: 'symlink';
  readonly sizeBytes: number;
  readonly datasets: number;
  readonly sequence: string;
  readonly replaced: boolean;
  /** Blocks that could not be written (their store is down); `rebuild` adds them later. */
  readonly missingBlocks: number;
}

export interface PutReport {
  /** Regular files and symlinks stored: every one with `listFiles`, else the first one only. */
  readonly files: PutFileReport[];
  /** Regular files stored (whether listed or not). */
  fileCount: number;
  /** Symlinks stored. */
  symlinkCount: number;
  /** Directory entries stored (their modes and times; the empty ones themselves). */
  directories: number;
  readonly totalBytes: number;
  readonly warnings: string[];
}

export async function putFiles(options: PutOptions): Promise<PutReport> {
  return withSession(options.pool, 'put', 'write', async (session) => {
    session.cluster.startOneCoder();
    const spools: string[] = [];
    try {
      const warnings: string[] = [];
      const collected = options.source === '-'
        ? new SourceList([await spoolStream(session, options.stdin ?? process.stdin, requireName(options.as ?? 'stdin'), spools)])
        : await collectSources(session, options, spools, warnings);
      const { manifest } = session.pool;
      const sources = allowsTreeEntries(manifest) || !(collected instanceof WalkedTree)
        ? collected : new SourceList(withoutTreeEntries(collected.toArray(), manifest.formatVersion ?? 1, warnings));
      const totalBytes = sources.totalBytes;
      const report: PutReport = { files: [], fileCount: 0, symlinkCount: 0, directories: 0, totalBytes, warnings };
      let doneBytes = 0;
      // One catalog lookup for every name of the put: looking up each commit batch again would read
      // the whole catalog once per batch (a put -r of n files cost O(n^2) record decodes). A version
      // another writer commits meanwhile is handled as it always was between a lookup and a commit:
      // the higher sequence wins.
      const existing = await existingRecords(session.readablePaths, sources);
      const heartbeat = new WriterHeartbeat(session.writablePaths);
      try {
        // Files are committed in batches so a long `put -r` makes progress durable as it goes.
        for (const batch of entryBatches(sources)) {
          await putBatch(session, batch, existing, report, options.listFiles === true, heartbeat, (bytes) => {
            doneBytes += bytes;
            options.onProgress?.(doneBytes, totalBytes);
          });
        }
      } finally {
        await heartbeat.finish();
      }
      return report;
    } finally {
      for (const spool of spools) {
        await fs.rm(spool, { force: true });
        untrackUnfinishedFile(spool);
      }
    }
  });
}

/** Names looked up one by one at most; more are met in one pass over the catalog, bucket by bucket. */
const MAX_LOOKED_UP_NAMES = 65536;

/**
 * The newest record of each source name the pool holds. A lookup by names hashes every name and
 * holds the hashes once per store (a put -r of 1,000,000 files: six million SHA-256 and a set of a
 * million 64-digit strings, into an empty pool); past MAX_LOOKED_UP_NAMES the catalog is read one
 * bucket at a time instead and each record kept only if the walk has its name (binary search).
 */
export async function existingRecords(
  readablePaths: readonly string[], sources: TreeEntries, maxLookedUp = MAX_LOOKED_UP_NAMES,
): Promise<ReadonlyMap<string, CatalogRecord>> {
  if (sources.length <= maxLookedUp) {
    return (await readNewestRecords(readablePaths, Array.from({ length: sources.length }, (_, p) => sources.name(p)))).records;
  }
  const found = new Map<string, CatalogRecord>();
  await forEachNewestRecord(readablePaths, (record) => {
    if (sources.positionOf(record.name) >= 0) found.set(record.name, record);
  });
  return found;
}

/**
 * Writes a batch; a file that changed while the workers read it is read again once (with what it
 * looks like now), and if it changes again it is reported and its previous version kept, as
 * SnapRAID reports a file changed during sync.
 */
async function putBatch(
  session: PoolSession, batch: readonly SourceFile[], existing: ReadonlyMap<string, CatalogRecord>, report: PutReport, listFiles: boolean,
  heartbeat: WriterHeartbeat, progress: (bytes: number) => void,
): Promise<void> {
  let pending = batch;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const planned = planBatch(session, pending, existing);
    const { written, changed } = await writeVersions(session, planned, heartbeat, progress, report.warnings);
    const planOf = new Map(planned.map((p) => [p.record.name, p]));
    for (const w of written) {
      const plan = planOf.get(w.record.name);
      if (w.record.kind === 'dir') {
        report.directories++;
        continue;
      }
      if (w.record.kind === 'symlink') report.symlinkCount++;
      else report.fileCount++;
      if (!listFiles && report.files.length > 0) continue;
      report.files.push({
        name: w.record.name, ...(w.record.kind ? { kind: w.record.kind } : {}), sizeBytes: w.record.fileSizeBytes, datasets: w.record.datasetCount,
        sequence: w.record.sequence.toString(), replaced: plan?.replaced ?? false, missingBlocks: w.missingBlocks,
      });
    }
    pending = readAgain(pending, changed.map((p) => p.record.name), attempt, report.warnings);
  }
}

function planBatch(
  session: PoolSession, batch: readonly SourceFile[], records: ReadonlyMap<string, CatalogRecord>,
): (PlannedVersion & { replaced: boolean })[] {
  const { manifest } = session.pool;
  return batch.map((source) => {
    const existing = records.get(source.name);
    const datasetCount = datasetCountOf({ fileSizeBytes: source.sizeBytes, k: manifest.k, blockSizeBytes: manifest.blockSizeBytes });
    const record: CatalogRecord = {
      name: source.name,
      fileId: existing?.fileId ?? newId(),
      sequence: newSequence(existing?.sequence),
      deleted: false,
      fileSizeBytes: source.sizeBytes,
      k: manifest.k,
      m: manifest.m,
      blockSizeBytes: manifest.blockSizeBytes,
      datasetCount,
      writtenAt: new Date().toISOString(),
      datasetChecksums: [],
      ...source.meta,
      ...stampToRecord(source),
    };
    return {
      sourcePath: source.path, stamp: source.stamp, record, previous: existing, replaced: existing !== undefined && !existing.deleted,
      datasetsToWrite: Array.from({ length: datasetCount }, (_, d) => d),
    };
  });
}

export function requireName(name: string): string {
  const problem = checkFileName(name);
  if (problem) throw usageError(`invalid name '${name.replace(/[\u0000-\u001f]/g, '?')}': ${problem}`);
  return name;
}

async function collectSources(session: PoolSession, options: PutOptions, spools: string[], warnings: string[]): Promise<TreeEntries> {
  const stat = await fs.stat(options.source, { bigint: true }).catch((error: unknown) => {
    throw usageError(`${options.source}: ${errnoCode(error) === 'ENOENT' ? 'no such file or directory' : describeError(error)}`);
  });
  if (stat.isFile()) {
    const name = requireName(options.as ?? escapeBytes(Buffer.from(path.basename(options.source), 'utf8')));
    // A file whose size says 0 but that has content (/proc, some FUSE file systems) is read to
    // its end into a spool first: every block header records the size, so it must be known.
    if (stat.size === 0n && hasBytesPast(options.source, 0)) {
      return new SourceList([await spoolStream(session, createReadStream(options.source), name, spools)]);
    }
    return new SourceList([{ path: options.source, name, sizeBytes: Number(stat.size), stamp: stampOf(stat), meta: ownMetadata(stat) }]);
  }
  if (!stat.isDirectory()) throw badInputError(`${options.source} is neither a regular file nor a directory`);
  if (!options.recursive) throw usageError(`${options.source} is a directory; use -r to put it with its contents`);
  return walkTreeCompact(options.source, treeRootName(options.as, options.source), warnings, options.exclude);
}

/** The prefix of a tree's names: --as (checked), else the directory's own name in catalog form. */
export function treeRootName(as: string | undefined, sourceDir: string): string {
  if (as !== undefined) return as === '' ? '' : requireName(as);
  return requireName(escapeBytes(Buffer.from(path.basename(path.resolve(sourceDir)), 'utf8')));
}

/**
 * A source without a size up front (standard input, a /proc file) is read to its end into a spool
 * first, since every block header records the file size. A store's tmp/ on this host keeps the
 * spool on the pool's disks; a pool with no store here spools to the system temp dir.
 */
async function spoolStream(session: PoolSession, input: Readable, name: string, spools: string[]): Promise<SourceFile> {
  const storePath = session.writablePaths.find((p) => !isRemoteStorePath(p));
  const spoolPath = storePath ? tempPathIn(storePath) : path.join(os.tmpdir(), `rain-stdin-${process.pid}-${randomBytes(8).toString('hex')}.tmp`);
  await fs.mkdir(path.dirname(spoolPath)).catch((error: { code?: string }) => { if (error.code !== 'EEXIST') throw error; });
  spools.push(spoolPath);
  trackUnfinishedFile(spoolPath);
  try {
    await pipeline(input, createWriteStream(spoolPath, { flags: 'wx' }));
  } catch (error) {
    throw ioError(`reading ${name === 'stdin' ? 'standard input' : `the source of ${name}`} failed: ${describeError(error)}`);
  }
  const stamp = stampOf(await fs.stat(spoolPath, { bigint: true }));
  return { path: spoolPath, name, sizeBytes: stamp.sizeBytes, stamp };
}
