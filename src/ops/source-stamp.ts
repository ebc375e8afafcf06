import fs from 'node:fs';
import type { EntryMetadata, RecordedStamp } from '../format/catalog-record.js';
import { fsPath } from '../format/wire-path.js';

/**
 * What a source file looked like when a put planned it: size, times in nanoseconds, identity.
 * Workers read a source by offset, up to the planned size; whether the file stayed the same while
 * they read it is decided after the last data set was encoded and before anything commits: the
 * stamp must be unchanged and no byte may lie past the planned size (read to EOF, not to the
 * stat size: a file in /proc has size 0 and content, a growing log has more than stat said).
 * A small file read into a pack is checked so by the pack's worker, on the descriptor it read
 * from, as soon as its bytes are read (cluster/pack-sources.ts): what it committed is then the
 * file as it was at that instant, and a change after it is the next sync's.
 */
export type SourceStamp = RecordedStamp;

export function stampOf(stat: fs.BigIntStats): SourceStamp {
  return { sizeBytes: Number(stat.size), mtimeNs: stat.mtimeNs, ctimeNs: stat.ctimeNs, ino: stat.ino, dev: stat.dev };
}

export function readStamp(file: string): SourceStamp | undefined {
  try {
    return stampOf(fs.statSync(fsPath(file), { bigint: true }));
  } catch {
    return undefined;
  }
}

/** Whether the file at `file` is still exactly what `before` describes, to its last byte. */
export function unchangedSince(file: string, before: SourceStamp): boolean {
  const now = readStamp(file);
  if (!now || !sameStamp(now, before)) return false;
  return !hasBytesPast(file, before.sizeBytes);
}

export function sameStamp(a: SourceStamp, b: SourceStamp): boolean {
  return a.sizeBytes === b.sizeBytes && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino && a.dev === b.dev;
}

/**
 * The stamp a record of this source keeps: only a regular file listed with its metadata (a
 * tree walk or a named file; not standard input, not a pool of format 1 or 2, which has none).
 */
export function stampToRecord(source: SourceFile): { sourceStamp?: SourceStamp } {
  return source.stamp !== undefined && source.meta !== undefined && source.meta.kind === undefined && source.stamp.sizeBytes === source.sizeBytes
    ? { sourceStamp: source.stamp } : {};
}

/** True when the file yields a byte at `offset`: it holds more than its size said. */
export function hasBytesPast(file: string, offset: number): boolean {
  let fd: number;
  try {
    fd = fs.openSync(fsPath(file), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    return fs.readSync(fd, Buffer.allocUnsafe(1), 0, 1, offset) > 0;
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/** A source file as a put or sync plans it. */
export interface SourceFile {
  /** A wire path (format/wire-path.ts): the bytes of a name that is not UTF-8 travel intact. */
  readonly path: string;
  readonly name: string;
  readonly sizeBytes: number;
  /** What the file looked like when listed; a put commits it only if it is still so after reading. */
  readonly stamp?: SourceStamp;
  /** Mode, times, owner, kind (a directory or symlink has no bytes); absent from standard input. */
  readonly meta?: EntryMetadata;
}

/**
 * The sources to read once more after a write found them changed (`changedNames`), stamped
 * afresh; on the second attempt none: each is reported instead and keeps its previous version
 * (SnapRAID: "file changed during sync"). A source that vanished is reported too.
 */
export function readAgain(batch: readonly SourceFile[], changedNames: readonly string[], attempt: number, warnings: string[]): SourceFile[] {
  const again = batch.filter((source) => changedNames.includes(source.name));
  if (attempt >= 2) {
    for (const source of again) warnings.push(`${source.name}: ${source.path} changed while being read, twice; its previous version is kept (put it again when it is quiet)`);
    return [];
  }
  return again.flatMap((source) => {
    const stamp = readStamp(source.path);
    if (stamp) return [{ ...source, sizeBytes: stamp.sizeBytes, stamp }];
    warnings.push(`${source.name}: ${source.path} vanished while being read; its previous version is kept`);
    return [];
  });
}
