import path from 'node:path';
import { faultPoint } from '../cluster/fault-points.js';
import type { DecodeResult } from '../cluster/protocol.js';
import type { DatasetTask } from '../cluster/worker-cluster.js';
import type { CatalogRecord } from '../format/catalog-record.js';
import { datasetExtent } from '../format/dataset-geometry.js';
import { checkFileName } from '../format/file-name.js';
import { DataLostError, describeError, errnoCode, ioError, RainError, usageError } from '../rain-error.js';
import { displayPath } from '../format/wire-path.js';
import { forEachNewestBucket, readNewestRecords, unaccountedFiles } from './catalog.js';
import { compareCatalogNames } from '../format/catalog-segment.js';
import { decodeTasks, packDecodeTask, packKey, DecodeTally } from './decode-tasks.js';
import { forEachBounded } from './for-each-bounded.js';
import { PartFile } from './part-file.js';
import { withSession, type PoolSession } from './pool-session.js';
import { notice } from './notices.js';
import { ReaderHeartbeat } from './writer-heartbeat.js';
import { isSuperseded, mayBeSuperseded } from './read-retry.js';
import { checkOutputDir, planDestinations, TreeDestination, type PlacedEntry } from './tree-destination.js';
import { appendAll } from '../format/append-all.js';

export interface TreeGetOptions {
  readonly pool?: string;
  /** Names equal to it or below `PREFIX/`; '.' or '/' for the whole pool. */
  readonly prefix: string;
  /** Each file goes to DIR/<its name>; DIR is created if missing (its parent must exist). */
  readonly outputDir: string;
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/**
 * written; lost: a data set below k good blocks, nothing written; removed: deleted from the pool
 * while being read; refused: its place in the destination is not a directory rain may write
 * into (a symlink, a file) or is a directory a file may not replace; nothing written.
 */
export type TreeFileOutcome = 'written' | 'lost' | 'removed' | 'refused';

export interface TreeFileReport {
  readonly name: string;
  /** Absent for a regular file; a directory is listed only when it could not be made. */
  readonly kind?: 'symlink' | 'dir';
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
  /** Regular files and symlinks, sorted by name. */
  readonly files: TreeFileReport[];
  /** Directory entries made or given their mode and times (their names are in the catalog). */
  readonly directories: number;
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
  // One catalog bucket at a time, keeping the records under the prefix only.
  const unaccounted: string[] = [];
  const records: CatalogRecord[] = [];
  await forEachNewestBucket(session.readablePaths, (view) => {
    appendAll(unaccounted, unaccountedFiles(view));
    for (const record of view.records.values()) if (!record.deleted && isUnderPrefix(record.name, prefix)) records.push(record);
  });
  if (unaccounted.length > 0) {
    notice(`${unaccounted.length} catalog files could not be read (e.g. ${unaccounted[0]}): a file under the prefix may be missing; run 'rain verify'`);
  }
  records.sort((a, b) => compareCatalogNames(a.name, b.name));
  if (records.length === 0) {
    throw usageError(prefix === '' ? "the pool holds no file (see 'rain ls')" : `no file in the pool under ${prefix} (see 'rain ls')`);
  }
  const planned = planDestinations(records, root);
  const reading = (entry: PlacedEntry): TreeFile => ({ ...entry, attempt: 1, tally: new DecodeTally() });
  const entries = { files: planned.files.map(reading), links: planned.links.map(reading), directories: planned.directories.map(reading) };
  await faultPoint('get-opened');
  const writer = new TreeWriter(session, root, options.onProgress);
  await writer.run(entries);
  return {
    prefix, outputDir: root, files: writer.reports.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    directories: writer.directories, workersLost: session.workersLost(),
  };
}

/** An entry being read: which attempt (a newer version may be read again), what its decodes found. */
interface TreeFile extends PlacedEntry {
  readonly attempt: number;
  readonly tally: DecodeTally;
  part?: PartFile;
  /** The data-lost failure of this attempt, if any. */
  lost?: RainError;
}

interface TreeEntries {
  readonly files: TreeFile[];
  readonly links: TreeFile[];
  readonly directories: TreeFile[];
}

/** Reads the files into the destination (tree-destination.ts makes every place in it). */
class TreeWriter {
  readonly reports: TreeFileReport[] = [];
  directories = 0;
  private readonly session: PoolSession;
  private readonly destination: TreeDestination;
  private readonly onProgress: ((doneBytes: number, totalBytes: number) => void) | undefined;
  /** .part files not yet committed or discarded: removed if the run stops. */
  private readonly openParts = new Set<PartFile>();
  private doneBytes = 0;
  private totalBytes = 0;

  constructor(session: PoolSession, root: string, onProgress?: (doneBytes: number, totalBytes: number) => void) {
    this.session = session;
    this.destination = new TreeDestination(root);
    this.onProgress = onProgress;
  }

  /**
   * Files first (batches of decodes), then hard links among them, then symlinks (so no file is
   * ever written after a link that could lead it elsewhere), then directories' modes and times,
   * deepest first (after their contents, which change a directory's mtime).
   */
  async run(entries: TreeEntries): Promise<void> {
    const root = this.destination.root;
    this.totalBytes = entries.files.reduce((sum, f) => sum + f.record.fileSizeBytes, 0);
    const queue = [...entries.files];
    try {
      await this.destination.open();
      while (queue.length > 0) appendAll(queue, await this.getBatch(queue.splice(0, FILES_PER_BATCH)));
      const written = new Set(this.reports.filter((r) => r.outcome === 'written').map((r) => r.name));
      await this.destination.linkHardLinks(entries.files, written);
      for (const link of entries.links) {
        const placed = await this.destination.makeSymlink(link);
        if (placed.outcome === 'written') this.report(link, 'written');
        else this.report(link, 'refused', placed.error);
      }
      this.directories += await this.destination.settleDirectories(entries.directories, (dir, error) => {
        this.report(dir, 'refused', error);
      });
    } catch (error) {
      await Promise.all([...this.openParts].map((part) => part.discard()));
      // What was renamed into place before the failure is whole; make it durable if we can.
      await this.destination.flush().catch(() => undefined);
      throw error instanceof RainError ? error : ioError(`getting files into ${root} failed: ${describeError(error)}`);
    }
    await this.destination.flush().catch((error: unknown) => {
      throw ioError(`making the new files under ${root} durable failed: ${describeError(error)}`);
    });
  }

  /** Decodes a batch and commits its whole files; returns the files to read again (a newer version). */
  private async getBatch(batch: readonly TreeFile[]): Promise<TreeFile[]> {
    const placed: TreeFile[] = [];
    for (const file of batch) {
      if (await this.placeParent(file)) placed.push(file);
    }
    await this.eachAtOnce(placed, async (file) => {
      file.part = await PartFile.create(file.destination, file.record.fileSizeBytes);
      this.openParts.add(file.part);
    });
    await this.session.cluster.runDatasets<DecodeResult>(this.tasks(placed));
    await this.session.cluster.flush(); // workers close their handles to this batch's .part files
    await this.eachAtOnce(placed.filter((f) => f.lost === undefined), async (file) => {
      await this.commit(file);
    });
    return this.settleLost(placed.filter((f) => f.lost !== undefined));
  }

  /** Makes the entry's parent directories; false (and the entry reported refused) when one is not a real directory. */
  private async placeParent(entry: TreeFile): Promise<boolean> {
    const refused = await this.destination.placeParent(entry.destination);
    if (refused !== undefined) this.report(entry, 'refused', refused);
    return refused === undefined;
  }

  private *tasks(batch: readonly TreeFile[]): Generator<DatasetTask<DecodeResult>> {
    // Packed files of one pack share one decode of it.
    const byPack = new Map<string, TreeFile[]>();
    for (const file of batch) {
      const key = packKey(file.record);
      if (!file.part || key === undefined) continue;
      const members = byPack.get(key);
      if (members) members.push(file);
      else byPack.set(key, [file]);
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
    const committed = await file.part.commit(file.record).then(() => true, (error: unknown) => {
      // An existing directory under the file's name is not replaced (a get merges into directories).
      if (errnoCode(error) === 'EISDIR') return false;
      throw ioError(`writing ${displayPath(file.destination)} failed: ${describeError(error)}`);
    });
    this.openParts.delete(file.part);
    if (!committed) {
      await file.part.discard();
      this.report(file, 'refused', `${displayPath(file.destination)} is a directory in the destination; not replaced`);
      return;
    }
    this.destination.written(file.destination);
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
      } else if (now.kind !== undefined) {
        this.report(file, 'removed', `replaced by a ${now.kind === 'dir' ? 'directory' : 'symlink'} while being read`);
      } else {
        this.totalBytes += now.fileSizeBytes;
        again.push({ record: now, destination: file.destination, attempt: file.attempt + 1, tally: new DecodeTally() });
      }
    }
    return again;
  }

  private report(file: TreeFile, outcome: TreeFileOutcome, error?: string): void {
    if (file.record.kind === 'dir' && outcome === 'written') return; // directories are counted, not listed
    this.reports.push({
      name: file.record.name, ...(file.record.kind ? { kind: file.record.kind } : {}),
      sizeBytes: file.record.fileSizeBytes, destination: displayPath(file.destination), outcome,
      reconstructedDatasets: file.tally.reconstructedDatasets, badBlocks: file.tally.badBlocks.length, ...(error === undefined ? {} : { error }),
      ...(file.record.pack ? { pack: packKey(file.record) } : {}),
    });
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
