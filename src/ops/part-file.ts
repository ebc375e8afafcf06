import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describeError, ioError } from '../rain-error.js';
import { storeChangesStopped } from '../store/stopping.js';
import { trackUnfinishedFile, untrackUnfinishedFile } from './unfinished-files.js';

/**
 * A destination file while workers fill it: `.NAME.rain-XXXX.part` beside the destination, at its
 * final size, renamed into place only once every data set is in, so a failed get never leaves a
 * partial file under the real name (only a crash can leave a .part file behind; an interrupted
 * get removes its .part files, unfinished-files.ts).
 */
export class PartFile {
  readonly path: string;
  readonly finalPath: string;
  private readonly handle: fs.FileHandle;

  private constructor(tempPath: string, finalPath: string, handle: fs.FileHandle) {
    this.path = tempPath;
    this.finalPath = finalPath;
    this.handle = handle;
  }

  static async create(finalPath: string, sizeBytes: number): Promise<PartFile> {
    const tempPath = path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.rain-${randomBytes(6).toString('hex')}.part`);
    const handle = await fs.open(tempPath, 'wx').catch((error: unknown) => {
      throw ioError(`cannot create ${tempPath}: ${describeError(error)}`);
    });
    const part = new PartFile(tempPath, finalPath, handle);
    trackUnfinishedFile(tempPath);
    // Workers write at offsets (r+), so the file has its final size before the first write.
    await handle.truncate(sizeBytes).catch(async (error: unknown) => {
      await part.discard();
      throw ioError(`writing ${finalPath} failed: ${describeError(error)}`);
    });
    return part;
  }

  /**
   * Makes the workers' writes durable (an fsync of the file through this handle covers them) and
   * renames the file into place. The rename's own durability is the caller's: a directory fsync.
   */
  async commit(): Promise<void> {
    await this.handle.sync();
    await this.handle.close();
    // An interrupted get has removed this file or is about to: nothing is renamed into place.
    if (storeChangesStopped()) throw ioError(`writing ${this.finalPath} was interrupted`);
    await fs.rename(this.path, this.finalPath);
    untrackUnfinishedFile(this.path);
  }

  async discard(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await fs.rm(this.path, { force: true });
    untrackUnfinishedFile(this.path);
  }
}
