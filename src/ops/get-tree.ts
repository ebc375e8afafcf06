import fs from 'node:fs/promises';
import path from 'node:path';
import { faultPoint } from '../cluster/fault-points.js';
import type { DecodeResult } from '../cluster/protocol.js';
import type { DatasetTask } from '../cluster/worker-cluster.js';
import type { CatalogRecord } from '../format/catalog-record.js';
import { datasetExtent } from '../format/dataset-geometry.js';
import { checkFileName } from '../format/file-name.js';
import { DataLostError, describeError, errnoCode, ioError, RainError, usageError } from '../rain-error.js';
import { DirectorySync } from '../store/durable-file.js';
import { liveRecords, readNewestRecords, unaccountedFiles } from './catalog.js';
import { decodeTasks, packDecodeTask, packKey, DecodeTally } from './decode-tasks.js';
import { forEachBounded } from './for-each-bounded.js';
import { PartFile } from './part-file.js';
import { withSession, type PoolSession } from './pool-session.js';
import { notice } from './notices.js';
import { ReaderHeartbeat } from './writer-heartbeat.js';
import { isSuperseded, mayBeSuperseded } from './read-retry.js';

export interface TreeGetOptions {
  readonly pool?: string;
  /** Names equal to it or below `PREFIX/`; '.' or '/' for the whole pool. */
  readonly prefix: string;
  /** Each file goes to DIR/<its name>; DIR is created if missing (its parent must exist). */
  readonly outputDir: string;
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/** written; lost: a data set below k good blocks, nothing written; removed: deleted from the pool while being read. */
export type TreeFileOutcome = 'written' | 'lost' | 'removed';

export interface TreeFileReport {
  readonly name: string;
  readonly sizeBytes: number;
  readonly destination: string;
  readonly outcome: TreeFileOutcome;
  readonly reconstructedDatasets: number;
  /** Blocks found missing or bad (each was read around, from parity). */
  readonly badBlocks: number;
  /** Why the file was not written. */
  readonly error?: string;
  /**
   * The pack the file was read from (docs/FORMAT.md §5.1, `fileId@sequence`): its data set and
   * bad blocks are the pack's, shared with every other file in it, so totals count them once.
   */
  readonly pack?: string;
}

export interface TreeGetReport {
  /** The prefix as matched ('' for the whole pool). */
  readonly prefix: string;
  readonly outputDir: string;
  /** Sorted by name. */
  readonly files: TreeFileReport[];
  /** Workers given up on mid-command (a remote store's connection stalled); their blocks were read around. */
  readonly workersLost: string[];
}

/**
 * Files decoded between two worker flushes. Each worker keeps a handle to every .part file it
 * wrote until the flush, and this process keeps one per .part file until its commit, so this
 * bounds open files (well below the usual limit of 1024) while one task stream stays long enough
 * to keep every worker's window full across many small files.
 */
const FILES_PER_BATCH = 256;

/** .part files created or committed (fsync + rename) at once: enough for the file system to group fsyncs. */
const FILE_OPS_AT_ONCE = 32;

/** The name prefix to match: trailing slashes dropped; '.' or '/' is the whole pool (''). */
export function treePrefix(given: string): string {
  if (given === '') throw usageError("the prefix is empty; use '.' for the whole pool");
  const trimmed = given.replace(/\/+$/, '');
  if (trimmed === '' || trimmed === '.') return '';
  const problem = checkFileName(trimmed);
  if (problem) throw usageError(`invalid prefix '${given.replace(/[\u0000-\u001f]/g, '?')}': ${problem}`);
  return trimmed;
}

export function isUnderPrefix(name: string, prefix: string): boolean {
  return prefix === '' || name === prefix || name.startsWith(`${prefix}/`);
}

/**
 * Gets every live file under a prefix into a directory, in one pool session, with the data sets
 * of many files in one task stream. A file with a lost data set is reported and skipped; every
 * other file is still written, each as single get writes one (a .part file renamed into place).
 */
export async function getTree(options: TreeGetOptions): Promise<TreeGetReport> {
  const prefix = treePrefix(options.prefix);
  const root = path.resolve(options.outputDir);
  await checkOutputDir(root);
  return withSession(options.pool, 'get', 'read', async (session) => {
    // Too many names to list: the announcement covers every name (writer-heartbeat.ts).
    const reader = new ReaderHeartbeat(session.writablePaths);
    await reader.announce('all');
    try {
      return await getTreeIn(session, prefix, root, options);
    } finally {
      await reader.finish();
    }
  });
}

async function getTreeIn(session: PoolSession, prefix: string, root: string, options: TreeGetOptions): Promise<TreeGetReport> {
  const view = await readNewestRecords(session.readablePaths);
  const unaccounted = unaccountedFiles(view);
  if (unaccounted.length > 0) {
    notice(`${unaccounted.length} catalog files could not be read (e.g. ${unaccounted[0]}): a file under the prefix may be missing; run 'rain verify'`);
  }
  const records = liveRecords(view).filter((r) => isUnderPrefix(r.name, prefix));
  if (records.length === 0) {
    throw usageError(prefix === '' ? "the pool holds no file (see 'rain ls')" : `no file in the pool under ${prefix} (see 'rain ls')`);
  }
  const files = planDestinations(records, root);
  await faultPoint('get-opened');
  const writer = new TreeWriter(session, root, options.onProgress);
  await writer.run(files);
  return {
    prefix, outputDir: root, files: writer.reports.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    workersLost: session.workersLost(),
  };
}

async function checkOutputDir(root: string): Promise<void> {
  const stat = await fs.stat(root).catch((error: unknown) => {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw ioError(`${root}: ${describeError(error)}`);
  });
  if (stat && !stat.isDirectory()) throw usageError(`${root} is not a directory (-r writes files into a directory)`);
  if (stat) return;
  const parent = await fs.stat(path.dirname(root)).catch(() => undefined);
  if (!parent?.isDirectory()) throw usageError(`${path.dirname(root)}: destination directory does not exist`);
}

interface TreeFile {
  readonly record: CatalogRecord;
  readonly destination: string;
  readonly attempt: number;
  readonly tally: DecodeTally;
  part?: PartFile;
  /** The data-lost failure of this attempt, if any. */
  lost?: RainError;
}

/**
 * Where each file goes, refused as a whole before anything is written when a name would leave
 * the directory (names are checked when put, so only a damaged catalog could do that) or when
 * one name is also a directory of others (a file and a directory cannot share a path).
 */
function planDestinations(records: readonly CatalogRecord[], root: string): TreeFile[] {
  const directories = new Set<string>();
  for (const record of records) {
    const segments = record.name.split('/');
    for (let i = 1; i < segments.length; i++) directories.add(segments.slice(0, i).join('/'));
  }
  return records.map((record) => {
    const destination = path.resolve(root, ...record.name.split('/'));
    const relative = path.relative(root, destination);
    const outside = relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);
    if (checkFileName(record.name) !== undefined || outside) {
      throw ioError(`the catalog name '${record.name.replace(/[\u0000-\u001f]/g, '?')}' would be written outside ${root}; nothing written (run 'rain check')`);
    }
    if (directories.has(record.name)) {
      throw usageError(`${record.name} is both a file and a directory of other names in the pool; get it on its own with 'rain get ${record.name} -o FILE'`);
    }
    return { record, destination, attempt: 1, tally: new DecodeTally() };
  });
}

class TreeWriter {
  readonly reports: TreeFileReport[] = [];
  private readonly session: PoolSession;
  private readonly root: string;
  private readonly onProgress: ((doneBytes: number, totalBytes: number) => void) | undefined;
  /** Renames and new directories, made durable together at the end. */
  private readonly directorySync = new DirectorySync();
  private readonly madeDirectories = new Set<string>();
  /** .part files not yet committed or discarded: removed if the run stops. */
  private readonly openParts = new Set<PartFile>();
  private doneBytes = 0;
  private totalBytes = 0;

  constructor(session: PoolSession, root: string, onProgress?: (doneBytes: number, totalBytes: number) => void) {
    this.session = session;
    this.root = root;
    this.onProgress = onProgress;
  }

  async run(files: readonly TreeFile[]): Promise<void> {
    this.totalBytes = files.reduce((sum, f) => sum + f.record.fileSizeBytes, 0);
    const queue = [...files];
    try {
      await this.makeDirectory(this.root);
      while (queue.length > 0) queue.push(...await this.getBatch(queue.splice(0, FILES_PER_BATCH)));
    } catch (error) {
      await Promise.all([...this.openParts].map((part) => part.discard()));
      // What was renamed into place before the failure is whole; make it durable if we can.
      await this.directorySync.flush().catch(() => undefined);
      throw error instanceof RainError ? error : ioError(`getting files into ${this.root} failed: ${describeError(error)}`);
    }
    await this.directorySync.flush().catch((error: unknown) => {
      throw ioError(`making the new files under ${this.root} durable failed: ${describeError(error)}`);
    });
  }

  /** Decodes a batch and commits its whole files; returns the files to read again (a newer version). */
  private async getBatch(batch: readonly TreeFile[]): Promise<TreeFile[]> {
    for (const file of batch) await this.makeDirectory(path.dirname(file.destination));
    await this.eachAtOnce(batch, async (file) => {
      file.part = await PartFile.create(file.destination, file.record.fileSizeBytes);
      this.openParts.add(file.part);
    });
    await this.session.cluster.runDatasets<DecodeResult>(this.tasks(batch));
    await this.session.cluster.flush(); // workers close their handles to this batch's .part files
    await this.eachAtOnce(batch.filter((f) => f.lost === undefined), async (file) => {
      await this.commit(file);
    });
    return this.settleLost(batch.filter((f) => f.lost !== undefined));
  }

  private *tasks(batch: readonly TreeFile[]): Generator<DatasetTask<DecodeResult>> {
    // Packed files of one pack share one decode of it.
    const byPack = new Map<string, TreeFile[]>();
    for (const file of batch) {
      const key = packKey(file.record);
      if (!file.part || key === undefined) continue;
      byPack.set(key, [...(byPack.get(key) ?? []), file]);
    }
    for (const files of byPack.values()) {
      yield packDecodeTask(
        this.session, files.map((file) => ({ record: file.record, sink: { kind: 'file', path: (file.part as PartFile).path } as const })),
        (result) => files.forEach((file) => this.decoded(file, result)), (error) => files.forEach((file) => this.failed(file, error)),
      );
    }
    for (const file of batch) {
      if (!file.part || file.record.pack) continue;
      const sink = { kind: 'file', path: file.part.path } as const;
      for (const task of decodeTasks(this.session, file.record, sink, (result) => this.decoded(file, result), (error) => this.failed(file, error))) {
        // The rest of a file already lost is not worth reading.
        if (file.lost !== undefined) break;
        yield task;
      }
    }
  }

  private decoded(file: TreeFile, result: DecodeResult): void {
    file.tally.add(result);
    this.doneBytes += file.record.pack ? file.record.fileSizeBytes : datasetExtent(file.record, result.datasetIndex).dataBytes;
    this.onProgress?.(this.doneBytes, this.totalBytes);
  }

  /** A lost data set costs its file only; anything else (a worker gone, a full disk) stops the run. */
  private failed(file: TreeFile, error: unknown): void {
    if (!(error instanceof DataLostError)) throw error;
    file.lost ??= error;
  }

  private async commit(file: TreeFile): Promise<void> {
    if (!file.part) return;
    await file.part.commit().catch((error: unknown) => {
      throw ioError(`writing ${file.destination} failed: ${describeError(error)}`);
    });
    this.openParts.delete(file.part);
    this.directorySync.add(path.dirname(file.destination));
    this.report(file, 'written');
  }

  /** Lost files are read again when a put committed a newer version meanwhile (as single get does). */
  private async settleLost(lost: readonly TreeFile[]): Promise<TreeFile[]> {
    for (const file of lost) {
      if (!file.part) continue;
      await file.part.discard();
      this.openParts.delete(file.part);
    }
    const recheck = new Set(lost.filter((f) => mayBeSuperseded(f.lost, f.attempt)).map((f) => f.record.name));
    const current = recheck.size > 0
      ? (await readNewestRecords(this.session.readablePaths, [...recheck])).records
      : new Map<string, CatalogRecord>();
    const again: TreeFile[] = [];
    for (const file of lost) {
      const now = current.get(file.record.name);
      if (!recheck.has(file.record.name) || !isSuperseded(file.record, now)) {
        this.report(file, 'lost', withoutName(file.record.name, file.lost?.message ?? 'data lost'));
      } else if (!now || now.deleted) {
        this.report(file, 'removed', 'removed from the pool while being read');
      } else {
        this.totalBytes += now.fileSizeBytes;
        again.push({ record: now, destination: file.destination, attempt: file.attempt + 1, tally: new DecodeTally() });
      }
    }
    return again;
  }

  private report(file: TreeFile, outcome: TreeFileOutcome, error?: string): void {
    this.reports.push({
      name: file.record.name, sizeBytes: file.record.fileSizeBytes, destination: file.destination, outcome,
      reconstructedDatasets: file.tally.reconstructedDatasets, badBlocks: file.tally.badBlocks.length, ...(error === undefined ? {} : { error }),
      ...(file.record.pack ? { pack: packKey(file.record) } : {}),
    });
  }

  /** mkdir -p at or below the output directory; the new entries join the final directory fsync. */
  private async makeDirectory(dir: string): Promise<void> {
    if (this.madeDirectories.has(dir)) return;
    const first = await fs.mkdir(dir, { recursive: true }).catch((error: unknown) => {
      throw ioError(`cannot create directory ${dir}: ${describeError(error)}`);
    });
    if (first !== undefined) {
      this.directorySync.add(path.dirname(first));
      for (let made = dir; made.length >= first.length; made = path.dirname(made)) this.directorySync.add(made);
    }
    this.madeDirectories.add(dir);
  }

  /** Runs `body` for each file, FILE_OPS_AT_ONCE at a time; all settle before the first failure is thrown. */
  private async eachAtOnce(files: readonly TreeFile[], body: (file: TreeFile) => Promise<void>): Promise<void> {
    let failure: unknown;
    await forEachBounded(files, FILE_OPS_AT_ONCE, async (file) => {
      if (failure !== undefined) return;
      await body(file).catch((error: unknown) => { failure ??= error; });
    });
    if (failure !== undefined) throw failure;
  }
}

/** The worker's message names the file; the report already does. */
function withoutName(name: string, message: string): string {
  return message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message;
}
