import fs from 'node:fs/promises';
import path from 'node:path';
import type { CatalogRecord } from '../format/catalog-record.js';
import { checkFileName } from '../format/file-name.js';
import { nameComponents, unescapeBytes } from '../format/name-bytes.js';
import { displayPath, fsPath, joinWirePath, wireDirname } from '../format/wire-path.js';
import { describeError, errnoCode, ioError, usageError } from '../rain-error.js';
import { DirectorySync } from '../store/durable-file.js';
import { kindOf } from '../store/guarded-fs.js';
import { applyToDirectory, applyToSymlink } from './entry-metadata.js';
import { tempPathBeside } from './part-file.js';

/**
 * The destination side of `get -r` (get-tree.ts reads and decodes): where each entry goes, and
 * making directories, hard links and symlinks there so that nothing found in DEST, and no
 * symlink a get makes, can ever lead a write outside DEST.
 */

/** A catalog entry and its place in the destination. */
export interface PlacedEntry {
  readonly record: CatalogRecord;
  /** A wire path (format/wire-path.ts): names are bytes. */
  readonly destination: string;
}

export interface PlannedEntries {
  readonly files: PlacedEntry[];
  readonly links: PlacedEntry[];
  readonly directories: PlacedEntry[];
}

/** The destination must be a directory, or not exist yet in a directory that does. */
export async function checkOutputDir(root: string): Promise<void> {
  const stat = await fs.stat(root).catch((error: unknown) => {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw ioError(`${root}: ${describeError(error)}`);
  });
  if (stat && !stat.isDirectory()) throw usageError(`${root} is not a directory (-r writes files into a directory)`);
  if (stat) return;
  const parent = await fs.stat(path.dirname(root)).catch(() => undefined);
  if (!parent?.isDirectory()) throw usageError(`${path.dirname(root)}: destination directory does not exist`);
}

/**
 * Where each entry goes, refused as a whole before anything is written when a name would leave
 * the directory (names are checked when put, so only a damaged catalog could do that) or when
 * a file or symlink is also a directory of other names (they cannot share a path, and a link
 * there must never lead the others out of the destination).
 */
export function planDestinations(records: readonly CatalogRecord[], root: string): PlannedEntries {
  const directories = new Set<string>();
  for (const record of records) {
    const segments = record.name.split('/');
    for (let i = 1; i < segments.length; i++) directories.add(segments.slice(0, i).join('/'));
  }
  const entries: PlannedEntries = { files: [], links: [], directories: [] };
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
    const entry = { record, destination };
    (record.kind === 'dir' ? entries.directories : record.kind === 'symlink' ? entries.links : entries.files).push(entry);
  }
  return entries;
}

const SLASH = Buffer.from('/');

/** A place in the destination rain will not write through (a symlink or a file where a directory belongs). */
export class RefusedPlace extends Error {}

/** What became of a symlink or directory entry: written, or refused with the reason. */
export type PlaceOutcome = { readonly outcome: 'written' } | { readonly outcome: 'refused'; readonly error: string };

/** The destination directory of one `get -r`: the directories it made or checked, and what to fsync. */
export class TreeDestination {
  readonly root: string;
  /** Renames and new directories, made durable together at the end. */
  private readonly directorySync = new DirectorySync();
  /** Directories at or below the root known (by lstat) to be real directories, or made here. */
  private readonly safeDirectories = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  /** Makes the root (its parent exists: checkOutputDir). */
  async open(): Promise<void> {
    const first = await fs.mkdir(this.root, { recursive: true }).catch((error: unknown) => {
      throw ioError(`cannot create directory ${this.root}: ${describeError(error)}`);
    });
    if (first !== undefined) this.directorySync.add(path.dirname(this.root));
    this.directorySync.add(this.root);
    this.safeDirectories.add(this.root);
  }

  /** Makes the parent directories of `destination`; the refusal's reason when one is not a real directory. */
  async placeParent(destination: string): Promise<string | undefined> {
    try {
      await this.ensureDirectory(wireDirname(destination));
      return undefined;
    } catch (error) {
      if (!(error instanceof RefusedPlace)) throw error;
      return error.message;
    }
  }

  /** An entry was renamed into place: its directory joins the final fsync. */
  written(destination: string): void {
    this.directorySync.add(wireDirname(destination));
  }

  /** Makes everything renamed or created durable. */
  async flush(): Promise<void> {
    await this.directorySync.flush();
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

  /**
   * Files put as hard links of one inode (the same linkGroup) and still holding the same bytes
   * and metadata become one inode again: each after the first is replaced, atomically, by a link
   * to the first (its bytes were decoded and checked all the same). Only `written` names count.
   */
  async linkHardLinks(files: readonly PlacedEntry[], written: ReadonlySet<string>): Promise<void> {
    const leaders = new Map<string, PlacedEntry>();
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
  async makeSymlink(link: PlacedEntry): Promise<PlaceOutcome> {
    const refused = await this.placeParent(link.destination);
    if (refused !== undefined) return { outcome: 'refused', error: refused };
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
      return { outcome: 'refused', error: `${displayPath(link.destination)} is a directory in the destination; not replaced` };
    }
    this.written(link.destination);
    return { outcome: 'written' };
  }

  /**
   * Every directory entry is made (the empty ones too), then given its owner, mode and times,
   * deepest first (after their contents, which change a directory's mtime). Returns how many
   * were settled; `refused` hears of each one that could not be made.
   */
  async settleDirectories<E extends PlacedEntry>(directories: readonly E[], refused: (dir: E, error: string) => void): Promise<number> {
    const made: E[] = [];
    for (const dir of directories) {
      try {
        await this.ensureDirectory(dir.destination);
        made.push(dir);
      } catch (error) {
        if (!(error instanceof RefusedPlace)) throw error;
        refused(dir, error.message);
      }
    }
    const depth = (entry: PlacedEntry): number => entry.record.name.split('/').length;
    for (const dir of made.sort((a, b) => depth(b) - depth(a))) {
      await applyToDirectory(dir.destination, dir.record).catch((error: unknown) => {
        throw ioError(`setting the mode and times of ${displayPath(dir.destination)} failed: ${describeError(error)}`);
      });
    }
    return made.length;
  }
}

/** Hard links are one inode only while their bytes and metadata still agree. */
function inodeKey(r: CatalogRecord): string {
  const content = r.pack ? `pack:${r.pack.fileChecksum}` : r.datasetChecksums.join(',');
  return JSON.stringify([r.fileSizeBytes, content, r.mode, r.mtimeNs?.toString(), r.uid, r.gid]);
}
