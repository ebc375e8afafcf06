import { randomBytes } from 'node:crypto';
import fsSync from 'node:fs';
import type { CatalogRecord } from '../format/catalog-record.js';
import { displayPath, fsPath, joinWirePath, wireBasename, wireDirname } from '../format/wire-path.js';
import { describeError, ioError } from '../rain-error.js';
import { storeChangesStopped } from '../store/stopping.js';
import { trackUnfinishedFile, untrackUnfinishedFile } from './unfinished-files.js';
import { applyToFd } from './entry-metadata.js';
import { fsyncFd } from '../store/fsync-policy.js';

/** Linux's limit on one path component. */
const MAX_COMPONENT_BYTES = 255;

/**
 * A destination file while workers fill it: `.NAME.rain-XXXX.part` beside the destination
 * (`.rain-XXXX.part` when NAME is too long for that), at its final size, renamed into place only
 * once every data set is in, so a failed get never leaves a partial file under the real name
 * (only a crash can leave a .part file behind; an interrupted get removes its .part files,
 * unfinished-files.ts). Paths are wire paths (format/wire-path.ts).
 *
 * Its calls are synchronous but for the fsync (inline or in the pool, as store/fsync-policy.ts
 * measures the device): a get -r of 50,000 small files spent most of its 13 s of system time on
 * thread-pool round trips for open, truncate, chown, chmod, utimes and close.
 */
export class PartFile {
  readonly path: string;
  readonly finalPath: string;
  private fd: number | undefined;

  private constructor(tempPath: string, finalPath: string, fd: number) {
    this.path = tempPath;
    this.finalPath = finalPath;
    this.fd = fd;
  }

  static async create(finalPath: string, sizeBytes: number): Promise<PartFile> {
    const tempPath = tempPathBeside(finalPath, 'part');
    let fd: number;
    try {
      // O_EXCL: never opens through a link someone planted under the temporary name.
      fd = fsSync.openSync(fsPath(tempPath), 'wx', 0o600);
    } catch (error) {
      throw ioError(`cannot create ${displayPath(tempPath)}: ${describeError(error)}`);
    }
    const part = new PartFile(tempPath, finalPath, fd);
    trackUnfinishedFile(tempPath);
    try {
      // Workers write at offsets (r+), so the file has its final size before the first write.
      fsSync.ftruncateSync(fd, sizeBytes);
    } catch (error) {
      await part.discard();
      throw ioError(`writing ${displayPath(finalPath)} failed: ${describeError(error)}`);
    }
    return part;
  }

  /**
   * Makes the workers' writes durable (an fsync of the file through this handle covers them),
   * gives the file the record's owner, mode and mtime (before it has its name, so it never
   * appears with others), and renames it into place. A record without a mode gets 0666 less the
   * umask, as before modes were kept. The rename's own durability is the caller's: a directory fsync.
   */
  async commit(record?: CatalogRecord): Promise<void> {
    const fd = this.openFd();
    applyToFd(fd, record ?? {});
    await fsyncFd(fd);
    this.fd = undefined;
    fsSync.closeSync(fd);
    // An interrupted get has removed this file or is about to: nothing is renamed into place.
    if (storeChangesStopped()) throw ioError(`writing ${this.finalPath} was interrupted`);
    fsSync.renameSync(fsPath(this.path), fsPath(this.finalPath));
    untrackUnfinishedFile(this.path);
  }

  async discard(): Promise<void> {
    if (this.fd !== undefined) {
      const fd = this.fd;
      this.fd = undefined;
      try {
        fsSync.closeSync(fd);
      } catch {
        // Closing a file being thrown away: the removal below is what matters.
      }
    }
    fsSync.rmSync(fsPath(this.path), { force: true });
    untrackUnfinishedFile(this.path);
  }

  private openFd(): number {
    if (this.fd === undefined) throw new Error(`${displayPath(this.path)} was already closed`);
    return this.fd;
  }
}

/** A fresh name beside `finalPath` for something renamed over it once whole. */
export function tempPathBeside(finalPath: string, suffix: string): string {
  const random = randomBytes(6).toString('hex');
  const base = wireBasename(finalPath);
  const long = Buffer.from(`.${base.toString('latin1')}.rain-${random}.${suffix}`, 'latin1');
  const name = long.length <= MAX_COMPONENT_BYTES ? Buffer.concat([Buffer.from('.'), base, Buffer.from(`.rain-${random}.${suffix}`)]) : Buffer.from(`.rain-${random}.${suffix}`);
  return joinWirePath(wireDirname(finalPath), name);
}
