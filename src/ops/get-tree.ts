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
import { kindOf } from '../store/guarded-fs.js';
import { nameComponents, unescapeBytes } from '../format/name-bytes.js';
import { displayPath, fsPath, joinWirePath, wireDirname } from '../format/wire-path.js';
import { applyToDirectory, applyToSymlink } from './entry-metadata.js';
import { liveRecords, readNewestRecords, unaccountedFiles } from './catalog.js';
import { decodeTasks, packDecodeTask, packKey, DecodeTally } from './decode-tasks.js';
import { forEachBounded } from './for-each-bounded.js';
import { PartFile, tempPathBeside } from './part-file.js';
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
  const view = await readNewestRecords(session.readablePaths);
  const unaccounted = unaccountedFiles(view);
  if (unaccounted.length > 0) {
    notice(`${unaccounted.length} catalog files could not be read (e.g. ${unaccounted[0]}): a file under the prefix may be missing; run 'rain verify'`);
  }
  const records = liveRecords(view).filter((r) => isUnderPrefix(r.name, prefix));
  if (records.length === 0) {
    throw usageError(prefix === '' ? "the pool holds no file (see 'rain ls')" : `no file in the pool under ${prefix} (see 'rain ls')`);
  }
  const entries = planDestinations(records, root);
  await faultPoint('get-opened');
  const writer = new TreeWriter(session, root, options.onProgress);
  await writer.run(entries);
  return {
    prefix, outputDir: root, files: writer.reports.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    directories: writer.directories, workersLost: session.workersLost(),
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
  /** A wire path (format/wire-path.ts): names are bytes. */
  readonly destination: string;
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

/**
 * Where each entry goes, refused as a whole before anything is written when a name would leave
 * the directory (names are checked when put, so only a damaged catalog could do that) or when
 * a file or symlink is also a directory of other names (they cannot share a path, and a link
 * there must never lead the others out of the destination).
 */
function planDestinations(records: readonly CatalogRecord[], root: string): TreeEntries {
  const directories = new Set<string>();
  for (const record of records) {
    const segments = record.name.split('/');
    for (let i = 1; i < segments.length; i++) directories.add(segments.slice(0, i).join('/'));
  }
  const entries: TreeEntries = { files: [], links: [], directories: [] };
  for (const record of records) {
    if (checkFileName(record.name) !== undefined) {
      throw ioError(`the catalog name '${record.name.replace(/[\u0000-\u001f]/g, '?')}' would be written outside ${root}; nothing written (run 'rain check')`);
    }
    if (directories.has(record.name) && record.kind !== 'dir') {
      const what = record.kind === 'symlink' ? 'a symlink' : 'a file';
      throw usageError(`${record.name} is both ${what} and a directory of other names in the pool; get it on its own with 'rain get ${record.name} -o FILE'`);
    }
    // Checked names have no '.', '..' or empty component: joined below root they stay below it.
    const destination = joinWirePath(root, Buffer.concat(nameComponents(record.name).flatMap((c, i) => (i === 0 ? [c] : [SLASH, c]))));
    const entry = { record, destination, attempt: 1, tally: new DecodeTally() };
    (record.kind === 'dir' ? entries.directories : record.kind === 'symlink' ? entries.links : entries.files).push(entry);
  }
  return entries;
}

const SLASH = Buffer.from('/');

/** A place in the destination rain will not write through (a symlink or a file where a directory belongs). */
class RefusedPlace extends Error {}

class TreeWriter {
  readonly reports: TreeFileReport[] = [];
  directories = 0;
  private readonly session: PoolSession;
  private readonly root: string;
  private readonly onProgress: ((doneBytes: number, totalBytes: number) => void) | undefined;
  /** Renames and new directories, made durable together at the end. */
  private readonly directorySync = new DirectorySync();
  /** Directories at or below the root known (by lstat) to be real directories, or made here. */
  private readonly safeDirectories = new Set<string>();
  /** .part files not yet committed or discarded: removed if the run stops. */
  private readonly openParts = new Set<PartFile>();
  private doneBytes = 0;
  private totalBytes = 0;

  constructor(session: PoolSession, root: string, onProgress?: (doneBytes: number, totalBytes: number) => void) {
    this.session = session;
    this.root = root;
    this.onProgress = onProgress;
  }

  /**
   * Files first (batches of decodes), then hard links among them, then symlinks (so no file is
   * ever written after a link that could lead it elsewhere), then directories' modes and times,
   * deepest first (after their contents, which change a directory's mtime).
   */
  async run(entries: TreeEntries): Promise<void> {
    this.totalBytes = entries.files.reduce((sum, f) => sum + f.record.fileSizeBytes, 0);
    const queue = [...entries.files];
    try {
      const first = await fs.mkdir(this.root, { recursive: true }).catch((error: unknown) => {
        throw ioError(`cannot create directory ${this.root}: ${describeError(error)}`);
      });
      if (first !== undefined) this.directorySync.add(path.dirname(this.root));
      this.directorySync.add(this.root);
      this.safeDirectories.add(this.root);
      while (queue.length > 0) queue.push(...await this.getBatch(queue.splice(0, FILES_PER_BATCH)));
      await this.linkHardLinks(entries.files);
      for (const link of entries.links) await this.makeSymlink(link);
      await this.settleDirectories(entries.directories);
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
    try {
      await this.ensureDirectory(wireDirname(entry.destination));
      return true;
    } catch (error) {
      if (!(error instanceof RefusedPlace)) throw error;
      this.report(entry, 'refused', error.message);
      return false;
    }
  }

  /**
   * mkdir -p below the root, one component at a time, each checked with lstat: a symlink (made
   * by this get or found in the destination) or a file where a directory belongs is never
   * gone through. New entries join the final directory fsync.
   */
  private async ensureDirectory(dir: string): Promise<void> {
    if (this.safeDirectories.has(dir)) return;
    const parent = wireDirname(dir);
    if (parent === dir) throw new RefusedPlace(`${displayPath(dir)} is outside the destination`);
    await this.ensureDirectory(parent);
    const at = fsPath(dir);
    const stat = await fs.lstat(at).catch((error: unknown) => {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw ioError(`${displayPath(dir)}: ${describeError(error)}`);
    });
    if (!stat) {
      await fs.mkdir(at).catch((error: unknown) => {
        throw ioError(`cannot create directory ${displayPath(dir)}: ${describeError(error)}`);
      });
      this.directorySync.add(parent);
      this.directorySync.add(dir);
    } else if (!stat.isDirectory()) {
      throw new RefusedPlace(`${displayPath(dir)} is ${kindOf(stat)} in the destination; rain does not write through it`);
    }
    this.safeDirectories.add(dir);
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
    this.directorySync.add(wireDirname(file.destination));
    this.report(file, 'written');
  }

  /**
   * Files put as hard links of one inode (the same linkGroup) and still holding the same bytes
   * and metadata become one inode again: each after the first is replaced, atomically, by a link
   * to the first (its bytes were decoded and checked all the same).
   */
  private async linkHardLinks(files: readonly TreeFile[]): Promise<void> {
    const written = new Set(this.reports.filter((r) => r.outcome === 'written').map((r) => r.name));
    const leaders = new Map<string, TreeFile>();
    for (const file of files) {
      const group = file.record.linkGroup;
      if (group === undefined || !written.has(file.record.name)) continue;
      const leader = leaders.get(group);
      if (!leader) {
        leaders.set(group, file);
        continue;
      }
      if (inodeKey(leader.record) !== inodeKey(file.record)) continue;
      const temp = tempPathBeside(file.destination, 'link');
      await fs.link(fsPath(leader.destination), fsPath(temp)).catch((error: unknown) => {
        throw ioError(`linking ${displayPath(file.destination)} to ${displayPath(leader.destination)} failed: ${describeError(error)}`);
      });
      await fs.rename(fsPath(temp), fsPath(file.destination)).catch(async (error: unknown) => {
        await fs.rm(fsPath(temp), { force: true });
        throw ioError(`linking ${displayPath(file.destination)} failed: ${describeError(error)}`);
      });
    }
  }

  /** A symlink is made under a temporary name and renamed over whatever non-directory is there; its target is never looked at. */
  private async makeSymlink(link: TreeFile): Promise<void> {
    if (!await this.placeParent(link)) return;
    const temp = tempPathBeside(link.destination, 'link');
    await fs.symlink(unescapeBytes(link.record.target ?? '') ?? Buffer.alloc(0), fsPath(temp)).catch((error: unknown) => {
      throw ioError(`cannot create symlink ${displayPath(link.destination)}: ${describeError(error)}`);
    });
    try {
      await applyToSymlink(temp, link.record);
      await fs.rename(fsPath(temp), fsPath(link.destination));
    } catch (error) {
      await fs.rm(fsPath(temp), { force: true });
      if (errnoCode(error) !== 'EISDIR' && errnoCode(error) !== 'ENOTEMPTY' && errnoCode(error) !== 'EEXIST') {
        throw ioError(`cannot create symlink ${displayPath(link.destination)}: ${describeError(error)}`);
      }
      this.report(link, 'refused', `${displayPath(link.destination)} is a directory in the destination; not replaced`);
      return;
    }
    this.directorySync.add(wireDirname(link.destination));
    this.report(link, 'written');
  }

  /** Every directory entry is made (the empty ones too), then given its owner, mode and times, deepest first. */
  private async settleDirectories(directories: readonly TreeFile[]): Promise<void> {
    const made: TreeFile[] = [];
    for (const dir of directories) {
      try {
        await this.ensureDirectory(dir.destination);
        made.push(dir);
      } catch (error) {
        if (!(error instanceof RefusedPlace)) throw error;
        this.report(dir, 'refused', error.message);
      }
    }
    const depth = (entry: TreeFile): number => entry.record.name.split('/').length;
    for (const dir of made.sort((a, b) => depth(b) - depth(a))) {
      await applyToDirectory(dir.destination, dir.record).catch((error: unknown) => {
        throw ioError(`setting the mode and times of ${displayPath(dir.destination)} failed: ${describeError(error)}`);
      });
      this.directories++;
    }
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

/** Hard links are one inode only while their bytes and metadata still agree. */
function inodeKey(r: CatalogRecord): string {
  const content = r.pack ? `pack:${r.pack.fileChecksum}` : r.datasetChecksums.join(',');
  return JSON.stringify([r.fileSizeBytes, content, r.mode, r.mtimeNs?.toString(), r.uid, r.gid]);
}

/** The worker's message names the file; the report already does. */
function withoutName(name: string, message: string): string {
  return message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message;
}
