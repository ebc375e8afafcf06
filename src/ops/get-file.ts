import fs from 'node:fs/promises';
import path from 'node:path';
import { faultPoint } from '../cluster/fault-points.js';
import type { DecodeResult } from '../cluster/protocol.js';
import type { CatalogRecord } from '../format/catalog-record.js';
import { checkFileName } from '../format/file-name.js';
import { describeError, errnoCode, ioError, OperationalError, RainError, usageError } from '../rain-error.js';
import { readNewestRecords } from './catalog.js';
import { decodeTasks, DecodeTally, type BadBlock } from './decode-tasks.js';
import { PartFile, tempPathBeside } from './part-file.js';
import { nameComponents, unescapeBytes } from '../format/name-bytes.js';
import { displayPath, fsPath, joinWirePath, wireDirname, wirePath } from '../format/wire-path.js';
import { applyToSymlink } from './entry-metadata.js';
import { kindOf } from '../store/guarded-fs.js';
import { withSession, type PoolSession } from './pool-session.js';
import { ReaderHeartbeat } from './writer-heartbeat.js';
import { isSuperseded, mayBeSuperseded } from './read-retry.js';

export interface GetOptions {
  readonly pool?: string;
  readonly name: string;
  /** A file path, a directory (the name's last segment is used), or this process's standard output. */
  readonly destination: { kind: 'path'; path: string } | { kind: 'stdout' };
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface GetReport {
  readonly name: string;
  readonly sizeBytes: number;
  readonly destination: string;
  /** Data sets that needed decoding because blocks were missing or bad (M8). */
  readonly reconstructedDatasets: number;
  readonly badBlocks: BadBlock[];
  /** Workers given up during the get (a remote store that stalled or dropped): read around. */
  readonly workersLost: string[];
  /** A newer version was committed while this one was read (what was written is the one looked up). */
  readonly replacedWhileRead?: boolean;
}

/**
 * Reads a file back. The output is byte-identical or the command fails: a file destination is
 * written under a temporary name and renamed into place only when every data set decoded.
 */
export async function getFile(options: GetOptions): Promise<GetReport> {
  const problem = checkFileName(options.name);
  if (problem) throw usageError(`invalid name: ${problem}`);
  return withSession(options.pool, 'get', 'read', async (session) => {
    session.cluster.startOneCoder();
    // Announced before the lookup: a put that commits a newer version from now on leaves the
    // blocks of the version read here for a later check (writer-heartbeat.ts, liveReadNames).
    const reader = new ReaderHeartbeat(session.writablePaths);
    await reader.announce([options.name]);
    try {
      return await readNewest(session, options);
    } finally {
      await reader.finish();
    }
  });
}

async function readNewest(session: PoolSession, options: GetOptions): Promise<GetReport> {
  for (let attempt = 1; ; attempt++) {
    const record = (await readNewestRecords(session.readablePaths, options.name)).records.get(options.name);
    if (!record || record.deleted) throw usageError(`${options.name}: no such file in the pool (see 'rain ls')`);
    let report: GetReport;
    try {
      report = await readVersion(session, record, options);
    } catch (error) {
      const retry = mayBeSuperseded(error, attempt) && !(error instanceof PartialOutputError)
        && isSuperseded(record, (await readNewestRecords(session.readablePaths, options.name)).records.get(options.name));
      if (!retry) throw error instanceof PartialOutputError ? error.cause : error;
      continue;
    }
    // Any bad block first re-checks the record: blocks a concurrent put collected after it
    // committed a newer version are no damage. What was written is the version that was current
    // when this get looked it up, verified against its data set checksums.
    if (report.badBlocks.length > 0 && isSuperseded(record, (await readNewestRecords(session.readablePaths, options.name)).records.get(options.name))) {
      return { ...report, reconstructedDatasets: 0, badBlocks: [], replacedWhileRead: true };
    }
    return report;
  }
}

/** Bytes already went to standard output: the read cannot start over without mixing versions. */
class PartialOutputError extends OperationalError {
  constructor(readonly cause: unknown) {
    super('partial output');
  }
}

async function readVersion(session: PoolSession, record: CatalogRecord, options: GetOptions): Promise<GetReport> {
  await faultPoint('get-opened');
  const tally = new DecodeTally();
  const reportAs = (destination: string): GetReport => ({
    name: record.name, sizeBytes: record.fileSizeBytes, destination, reconstructedDatasets: tally.reconstructedDatasets, badBlocks: tally.badBlocks,
    workersLost: session.workersLost(),
  });
  if (record.kind === 'dir') throw usageError(`${record.name} is a directory in the pool; get it with 'rain get -r ${record.name} -o DIR'`);
  if (record.kind === 'symlink' && options.destination.kind === 'stdout') {
    throw usageError(`${record.name} is a symlink (to ${record.target ?? ''}); get it with -o PATH`);
  }
  if (options.destination.kind === 'stdout') {
    let wroteAny = false;
    try {
      await decodeToStdout(session, record, (r) => { wroteAny = true; tally.add(r); }, options.onProgress);
    } catch (error) {
      throw wroteAny ? new PartialOutputError(error) : error;
    }
    return reportAs('-');
  }
  if (record.kind === 'symlink') return reportAs(displayPath(await makeSymlink(record, options.destination.path)));
  const finalPath = await resolveDestination(options.destination.path, record.name);
  await decodeToFile(session, record, finalPath, (r) => tally.add(r), options.onProgress);
  return reportAs(displayPath(finalPath));
}

/**
 * Where the file goes, as a wire path (its last component may be any bytes). A directory takes
 * the name's last segment; so does a path ending in '/', a directory that is made when missing
 * (its parent must exist). What is already there is replaced atomically only if it is a regular
 * file; a symlink is followed (its target is replaced, the link stays); a device, FIFO or socket
 * is refused, never replaced (a get onto /dev/null as root must not put a regular file in its
 * place): stdout can be redirected into it.
 */
async function resolveDestination(destination: string, name: string): Promise<string> {
  const intoDirectory = destination.endsWith('/') || await fs.stat(destination).then((s) => s.isDirectory(), () => false);
  if (intoDirectory) await makeDestinationDirectory(destination);
  let target = intoDirectory ? joinWirePath(path.resolve(destination), lastComponent(name)) : path.resolve(destination);
  if ((await fs.lstat(fsPath(target)).catch(() => undefined))?.isSymbolicLink()) {
    target = await fs.realpath(fsPath(target), { encoding: 'buffer' }).then(wirePath, () => target);
  }
  const existing = await fs.lstat(fsPath(target)).catch(() => undefined);
  if (existing && !existing.isFile()) {
    if (existing.isDirectory()) throw usageError(`${displayPath(target)} is a directory`);
    throw usageError(`${displayPath(target)} is ${kindOf(existing)}; rain replaces only regular files: write to it with 'rain get ${name} > ${displayPath(target)}'`);
  }
  const parent = await fs.stat(fsPath(wireDirname(target))).catch(() => undefined);
  if (!parent?.isDirectory()) throw usageError(`${displayPath(wireDirname(target))}: destination directory does not exist`);
  return target;
}

/** `-o DIR/`: a trailing slash means a directory, made here if missing (as `mkdir`, not `mkdir -p`). */
async function makeDestinationDirectory(destination: string): Promise<void> {
  const stat = await fs.stat(destination).catch(() => undefined);
  if (stat?.isDirectory()) return;
  if (stat) throw usageError(`${destination} is not a directory (a trailing slash means one)`);
  const parent = path.dirname(path.resolve(destination));
  if (!(await fs.stat(parent).catch(() => undefined))?.isDirectory()) throw usageError(`${parent}: destination directory does not exist`);
  await fs.mkdir(destination).catch((error: unknown) => {
    if (errnoCode(error) !== 'EEXIST') throw ioError(`cannot create directory ${destination}: ${describeError(error)}`);
  });
}

function lastComponent(name: string): Buffer {
  const components = nameComponents(name);
  return components[components.length - 1];
}

/**
 * A symlink entry is made as a link (its target never looked at), under a temporary name then
 * renamed over what is there: a regular file or a link is replaced, a directory is not.
 */
async function makeSymlink(record: CatalogRecord, destination: string): Promise<string> {
  const intoDirectory = destination.endsWith('/') || await fs.stat(destination).then((s) => s.isDirectory(), () => false);
  if (intoDirectory) await makeDestinationDirectory(destination);
  const target = intoDirectory ? joinWirePath(path.resolve(destination), lastComponent(record.name)) : path.resolve(destination);
  if ((await fs.lstat(fsPath(target)).catch(() => undefined))?.isDirectory()) throw usageError(`${displayPath(target)} is a directory`);
  const temp = tempPathBeside(target, 'link');
  await fs.symlink(unescapeBytes(record.target ?? '') ?? Buffer.alloc(0), fsPath(temp)).catch((error: unknown) => {
    throw ioError(`cannot create symlink ${displayPath(target)}: ${describeError(error)}`);
  });
  try {
    await applyToSymlink(temp, record);
    await fs.rename(fsPath(temp), fsPath(target));
  } catch (error) {
    await fs.rm(fsPath(temp), { force: true });
    throw ioError(`cannot create symlink ${displayPath(target)}: ${describeError(error)}`);
  }
  return target;
}

async function decodeToFile(
  session: PoolSession, record: CatalogRecord, finalPath: string,
  collect: (r: DecodeResult) => void, onProgress?: (done: number, total: number) => void,
): Promise<void> {
  const part = await PartFile.create(finalPath, record.fileSizeBytes);
  try {
    let done = 0;
    await session.cluster.runDatasets<DecodeResult>(decodeTasks(session, record, { kind: 'file', path: part.path }, (result) => {
      collect(result);
      done++;
      onProgress?.(Math.min(record.fileSizeBytes, done * record.k * record.blockSizeBytes), record.fileSizeBytes);
    }));
    await session.cluster.flush(); // workers close their handles to the temp file
    await part.commit(record);
  } catch (error) {
    await part.discard();
    throw error instanceof RainError ? error : ioError(`writing ${displayPath(finalPath)} failed: ${describeError(error)}`);
  }
}

let streamsStarted = 0;

/**
 * The workers write the decoded data sets to standard output themselves (each holds the
 * coordinator's stdout), one at a time in file order: the coordinator grants data set d+1's turn
 * when d's writer answers, so the answers, too, arrive in file order. So the bytes never pass through this process, and memory stays that of
 * the data sets in flight whatever the file size.
 */
async function decodeToStdout(
  session: PoolSession, record: CatalogRecord,
  collect: (r: DecodeResult) => void, onProgress?: (done: number, total: number) => void,
): Promise<void> {
  const stream = `${process.pid}.${++streamsStarted}`;
  const cluster = session.cluster;
  cluster.grantOutputTurn(stream, 0, false);
  const datasetBytes = record.k * record.blockSizeBytes;
  const written = (result: DecodeResult): void => {
    collect(result);
    cluster.grantOutputTurn(stream, result.datasetIndex + 1, false);
    onProgress?.(Math.min(record.fileSizeBytes, (result.datasetIndex + 1) * datasetBytes), record.fileSizeBytes);
  };
  // The first failure abandons the stream, so decodes waiting for a later turn give up instead of
  // waiting for a turn that never comes.
  const abandon = (error: unknown): never => {
    cluster.grantOutputTurn(stream, 0, true);
    if (errnoCode(error) === 'EPIPE') throw ioError('standard output was closed before the whole file was written (broken pipe)');
    throw error;
  };
  await cluster.runDatasets<DecodeResult>(decodeTasks(session, record, { kind: 'stdout', stream }, written, abandon));
}
