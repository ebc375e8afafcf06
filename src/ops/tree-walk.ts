import fs from 'node:fs';
import type { EntryMetadata } from '../format/catalog-record.js';
import { matchForm, matchFormOfName, type ExcludeRules } from '../format/exclude-patterns.js';
import { checkFileName } from '../format/file-name.js';
import { escapeBytes } from '../format/name-bytes.js';
import { MAX_NAME_BYTES } from '../format/pool-limits.js';
import { fsPath, isBytesWirePath, joinWirePath } from '../format/wire-path.js';
import { describeError } from '../rain-error.js';
import { kindOf } from '../store/guarded-fs.js';
import { notice } from './notices.js';
import { stampOf, type SourceFile } from './source-stamp.js';
import { WalkedTree } from './walked-tree.js';

/**
 * What a tree holds, as `put -r` and `sync` store it: every regular file, directory (the top
 * one too, under the prefix itself) and symlink, each with its mode, mtime and owner from
 * lstat, names read as bytes (readdir with a Buffer encoding) and put in catalog form
 * (name-bytes.ts). Links are never followed. FIFOs, sockets and devices cannot be re-created
 * by Node (it has no mknod), so they are not stored: one warning each, as is a name rain must
 * refuse or a directory it cannot read; the rest of the tree is still stored.
 *
 * An entry that `exclusion` excludes (--exclude, format/exclude-patterns.ts) is left out
 * silently and counted; an excluded directory is not read at all.
 *
 * In this thread: a stat through the thread pool costs more than the stat itself
 * (store/inline-io.ts), per entry of a large tree.
 */
export function walkTree(sourceDir: string, prefix: string, warnings: string[], exclusion?: TreeExclusion): SourceFile[] {
  const out: SourceFile[] = [];
  walkEntries(sourceDir, prefix, (source) => out.push(source), warnings, exclusion);
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

/** The same walk held in columns (walked-tree.ts): what a sync of a large tree keeps while it reads the catalog. */
export function walkTreeCompact(sourceDir: string, prefix: string, warnings: string[], exclusion?: TreeExclusion): WalkedTree {
  const tree = WalkedTree.builder(sourceDir, prefix);
  walkEntries(sourceDir, prefix, (source) => tree.add(source), warnings, exclusion);
  return tree.finish();
}

function walkEntries(sourceDir: string, prefix: string, out: (source: SourceFile) => void, warnings: string[], exclusion: TreeExclusion | undefined): void {
  if (prefix !== '') {
    const root = fs.statSync(sourceDir, { bigint: true });
    out({ path: sourceDir, name: prefix, sizeBytes: 0, meta: { kind: 'dir', ...ownMetadata(root) } });
  }
  walkInto(sourceDir, prefix, '', out, warnings, exclusion);
}

/** The --exclude patterns of one walk, and how many entries they left out. */
export class TreeExclusion {
  /** Entries left out; an excluded directory counts once (what is inside it is never read). */
  excludedCount = 0;

  constructor(readonly rules: ExcludeRules) {}

  /**
   * Whether a pool name under `prefix` is one the walk leaves out (it, or a directory above
   * it, is excluded): `sync --delete` keeps such names, as rsync does without --delete-excluded.
   */
  covers(name: string, prefix: string, isDirectory: boolean): boolean {
    const relative = prefix === '' ? name : name.slice(prefix.length + 1);
    return relative !== '' && this.rules.excludes(matchFormOfName(relative), isDirectory);
  }
}

/** The catalog records the exclusion does not cover (those `sync --delete` may delete). */
export function withoutExcluded<R extends { readonly name: string; readonly kind?: string }>(
  records: ReadonlyMap<string, R>, prefix: string, exclusion: TreeExclusion | undefined,
): ReadonlyMap<string, R> {
  if (!exclusion) return records;
  return new Map([...records].filter(([, record]) => !isExcluded(record, prefix, exclusion)));
}

/** Whether the exclusion covers a record under the prefix (`sync --delete` keeps such a name). */
export function isExcluded(record: { readonly name: string; readonly kind?: string }, prefix: string, exclusion: TreeExclusion | undefined): boolean {
  const under = prefix === '' || record.name.startsWith(`${prefix}/`);
  return exclusion !== undefined && under && exclusion.covers(record.name, prefix, record.kind === 'dir');
}

function walkInto(dir: string, prefix: string, relativeDir: string, out: (source: SourceFile) => void, warnings: string[], exclusion: TreeExclusion | undefined): void {
  let children: Buffer[];
  try {
    children = fs.readdirSync(fsPath(dir), { encoding: 'buffer' });
  } catch (error) {
    warnings.push(`${prefix === '' ? '.' : prefix}: cannot read this directory, its contents are not stored: ${describeError(error)}`);
    return;
  }
  const plainDir = !isBytesWirePath(dir);
  for (const child of children) {
    const component = escapeBytes(child);
    // A component that is its own catalog form is valid UTF-8: the path stays a plain string.
    const full = plainDir && component.indexOf('\\') < 0 ? `${dir}${dir.endsWith('/') ? '' : '/'}${component}` : joinWirePath(dir, child);
    const name = prefix === '' ? component : `${prefix}/${component}`;
    let stat: fs.BigIntStats | undefined;
    let statError: unknown;
    try {
      stat = fs.lstatSync(fsPath(full), { bigint: true });
    } catch (error) {
      statError = error;
    }
    // Checked first, so that excluding a name rain cannot store also silences its warning.
    const relative = exclusion ? `${relativeDir}${relativeDir === '' ? '' : '/'}${matchForm(child)}` : '';
    if (exclusion?.rules.excludesEntry(relative, stat?.isDirectory() ?? false)) {
      exclusion.excludedCount++;
      continue;
    }
    // The prefix is checked already: the new component, and the whole name's length.
    const problem = checkFileName(component) ?? (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES ? `the name is longer than ${MAX_NAME_BYTES} bytes` : undefined);
    if (problem || !stat) {
      warnings.push(`${name}: not stored: ${problem ?? describeError(statError)}`);
      continue;
    }
    const meta = ownMetadata(stat);
    if (stat.isDirectory()) {
      out({ path: full, name, sizeBytes: 0, meta: { kind: 'dir', ...meta } });
      walkInto(full, name, relative, out, warnings, exclusion);
    } else if (stat.isFile()) {
      const stamp = stampOf(stat);
      const linkGroup = stat.nlink > 1n ? { linkGroup: `${stat.dev}:${stat.ino}` } : {};
      out({ path: full, name, sizeBytes: stamp.sizeBytes, stamp, meta: { ...meta, ...linkGroup } });
    } else if (stat.isSymbolicLink()) {
      let target: Buffer;
      try {
        target = fs.readlinkSync(fsPath(full), { encoding: 'buffer' });
      } catch (error) {
        warnings.push(`${name}: not stored: ${describeError(error)}`);
        continue;
      }
      out({ path: full, name, sizeBytes: 0, meta: { kind: 'symlink', ...meta, target: escapeBytes(target) } });
    } else {
      warnings.push(`${name}: not stored: it is ${kindOf(stat)} (rain stores regular files, directories and symlinks)`);
    }
  }
}

/** Mode (with setuid, setgid, sticky), mtime in nanoseconds, numeric owner. */
export function ownMetadata(stat: fs.BigIntStats): EntryMetadata {
  return { mode: Number(stat.mode & 0o7777n), mtimeNs: stat.mtimeNs, uid: Number(stat.uid), gid: Number(stat.gid) };
}

/**
 * A pool of format 1 or 2 cannot hold entries (an older rain could open it and would drop or
 * misread them): its files are stored as before, without metadata; everything else is left out
 * with a warning, and one line says how to convert the pool.
 */
export function withoutTreeEntries(sources: readonly SourceFile[], formatVersion: number, warnings: string[]): SourceFile[] {
  const kept: SourceFile[] = [];
  let leftOut = false;
  for (const source of sources) {
    const kind = source.meta?.kind;
    if (kind === 'dir') {
      leftOut = true;
      continue;
    }
    if (kind === 'symlink' || source.name.includes('\\')) {
      warnings.push(`${source.name}: not stored: ${kind === 'symlink' ? 'a symlink' : 'a name with an escape'} needs pool format 3`);
      continue;
    }
    const { meta: _unused, ...plain } = source;
    kept.push(plain);
    leftOut ||= source.meta !== undefined;
  }
  if (leftOut) {
    notice(`this pool has format ${formatVersion}, which keeps no modes, times, owners, empty directories or links; run 'rain check' once to convert it to format 3`);
  }
  return kept;
}
