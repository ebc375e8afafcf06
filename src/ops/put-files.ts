import { randomBytes } from 'node:crypto';
import os from 'node:os';
import fs from 'node:fs/promises';
import fsSync, { createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { CatalogRecord } from '../format/catalog-record.js';
import { datasetCountOf } from '../format/dataset-geometry.js';
import { checkFileName } from '../format/file-name.js';
import { newId, newSequence } from '../format/ids.js';
import { badInputError, describeError, errnoCode, ioError, usageError } from '../rain-error.js';
import { tempPathIn } from '../store/durable-file.js';
import { readNewestRecords } from './catalog.js';
import { writeVersions, type PlannedVersion } from './write-versions.js';
import { withSession, type PoolSession } from './pool-session.js';
import { WriterHeartbeat } from './writer-heartbeat.js';
import { isRemoteStorePath } from '../store/store-location.js';

export interface PutOptions {
  readonly pool?: string;
  /** A file, a directory (with recursive), or '-' for standard input. */
  readonly source: string;
  readonly as?: string;
  readonly recursive?: boolean;
  readonly stdin?: Readable;
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface PutFileReport {
  readonly name: string;
  readonly sizeBytes: number;
  readonly datasets: number;
  readonly sequence: string;
  readonly replaced: boolean;
  /** Blocks that could not be written (their store is down); `rebuild` adds them later. */
  readonly missingBlocks: number;
}

export interface PutReport {
  readonly files: PutFileReport[];
  readonly totalBytes: number;
  readonly warnings: string[];
}

export interface SourceFile {
  readonly path: string;
  readonly name: string;
  readonly sizeBytes: number;
}

/** Files are committed in batches so a long `put -r` makes progress durable as it goes. */
const FILES_PER_COMMIT = 256;

export async function putFiles(options: PutOptions): Promise<PutReport> {
  return withSession(options.pool, 'put', 'write', async (session) => {
    const spool = options.source === '-' ? await spoolStdin(session, options.stdin ?? process.stdin) : undefined;
    try {
      const sources = spool
        ? [{ path: spool.path, name: requireName(options.as ?? 'stdin'), sizeBytes: spool.sizeBytes }]
        : await collectSources(options);
      const totalBytes = sources.reduce((sum, s) => sum + s.sizeBytes, 0);
      const report: PutReport = { files: [], totalBytes, warnings: [] };
      let doneBytes = 0;
      const heartbeat = new WriterHeartbeat(session.writablePaths);
      try {
        for (let i = 0; i < sources.length; i += FILES_PER_COMMIT) {
          const batch = sources.slice(i, i + FILES_PER_COMMIT);
          await putBatch(session, batch, report, heartbeat, (bytes) => {
            doneBytes += bytes;
            options.onProgress?.(doneBytes, totalBytes);
          });
        }
      } finally {
        await heartbeat.finish();
      }
      return report;
    } finally {
      if (spool) await fs.rm(spool.path, { force: true });
    }
  });
}

async function putBatch(
  session: PoolSession, batch: readonly SourceFile[], report: PutReport, heartbeat: WriterHeartbeat, progress: (bytes: number) => void,
): Promise<void> {
  const { manifest } = session.pool;
  const planned: (PlannedVersion & { replaced: boolean })[] = [];
  // One catalog lookup for the whole batch: each store's buckets are listed once, not once per file.
  const catalog = await readNewestRecords(session.readablePaths, batch.map((s) => s.name));
  for (const source of batch) {
    const existing = catalog.records.get(source.name);
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
    };
    planned.push({
      sourcePath: source.path, record, previous: existing, replaced: existing !== undefined && !existing.deleted,
      datasetsToWrite: Array.from({ length: datasetCount }, (_, d) => d),
    });
  }
  const written = await writeVersions(session, planned, heartbeat, progress, report.warnings);
  written.forEach((w, i) => report.files.push({
    name: w.record.name, sizeBytes: w.record.fileSizeBytes, datasets: w.record.datasetCount,
    sequence: w.record.sequence.toString(), replaced: planned[i].replaced, missingBlocks: w.missingBlocks,
  }));
}

export function requireName(name: string): string {
  const problem = checkFileName(name);
  if (problem) throw usageError(`invalid name '${name.replace(/[\u0000-\u001f]/g, '?')}': ${problem}`);
  return name;
}

async function collectSources(options: PutOptions): Promise<SourceFile[]> {
  const stat = await fs.stat(options.source).catch((error: unknown) => {
    throw usageError(`${options.source}: ${errnoCode(error) === 'ENOENT' ? 'no such file or directory' : describeError(error)}`);
  });
  if (stat.isFile()) {
    return [{ path: options.source, name: requireName(options.as ?? path.basename(options.source)), sizeBytes: stat.size }];
  }
  if (!stat.isDirectory()) throw badInputError(`${options.source} is neither a regular file nor a directory`);
  if (!options.recursive) throw usageError(`${options.source} is a directory; use -r to put it with its contents`);
  const prefix = options.as ?? path.basename(path.resolve(options.source));
  const files: SourceFile[] = [];
  walk(options.source, prefix, files);
  files.sort((a, b) => (a.name < b.name ? -1 : 1));
  return files;
}

/** In this thread: a stat through the thread pool costs more than the stat itself (store/inline-io.ts), per file of a large tree. */
export function walk(dir: string, prefix: string, out: SourceFile[]): void {
  for (const entry of fsSync.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const name = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) walk(full, name, out);
    else if (entry.isFile()) out.push({ path: full, name: requireName(name), sizeBytes: fsSync.statSync(full).size });
  }
}

/** Standard input has no size up front, and every block header records the file size, so it is spooled to a store's tmp/ first. */
async function spoolStdin(session: PoolSession, input: Readable): Promise<{ path: string; sizeBytes: number }> {
  // A store's tmp/ on this host keeps the spool on the pool's disks; a pool with no store here spools to the system temp dir.
  const storePath = session.writablePaths.find((p) => !isRemoteStorePath(p));
  const spoolPath = storePath ? tempPathIn(storePath) : path.join(os.tmpdir(), `rain-stdin-${process.pid}-${randomBytes(8).toString('hex')}.tmp`);
  await fs.mkdir(path.dirname(spoolPath)).catch((error: { code?: string }) => { if (error.code !== 'EEXIST') throw error; });
  try {
    await pipeline(input, createWriteStream(spoolPath, { flags: 'wx' }));
  } catch (error) {
    await fs.rm(spoolPath, { force: true });
    throw ioError(`reading standard input failed: ${describeError(error)}`);
  }
  return { path: spoolPath, sizeBytes: (await fs.stat(spoolPath)).size };
}
