import type { EntryMetadata } from '../format/catalog-record.js';
import type { SourceFile } from './source-stamp.js';
import { GrowingColumn } from './growing-column.js';
import { PackedNames } from './packed-names.js';

/**
 * The entries of a tree walk held in columns instead of one object graph per entry: a name
 * (UTF-8, packed outside the heap once the walk is sorted) and about 60 bytes of numbers each,
 * where a SourceFile with its stamp, metadata and bigints costs ~370 bytes (measured: 200,000
 * files, 74.6 MiB of heap as objects). A sync of an unchanged tree of 1,000,000 files held every
 * entry as an object, a Map by name and a Set of settled names (918 MiB coordinator); it now
 * holds this and one byte per entry.
 *
 * An entry is taken apart when added and rebuilt by `at` as the same SourceFile, member for
 * member and in the same order (the walk's objects are what records are made of). The source
 * path is derived from the name (the tree's directory joined with the name under the prefix)
 * and kept apart only where that differs (a name with an escape travels as a wire path).
 * Positions are in name order (JavaScript string order, as the walk always sorted).
 */
/** A walk's entries in name order, whichever way they are held. */
export interface TreeEntries {
  readonly length: number;
  readonly totalBytes: number;
  name(position: number): string;
  sizeBytes(position: number): number;
  isDirectory(position: number): boolean;
  at(position: number): SourceFile;
  positionOf(name: string): number;
}

/** Entries already held as objects, sorted by name (a pool of format 1 or 2 keeps files without metadata, which columns cannot hold). */
export class SourceList implements TreeEntries {
  readonly totalBytes: number;
  private readonly positions: Map<string, number>;

  constructor(private readonly sources: readonly SourceFile[]) {
    this.totalBytes = sources.reduce((sum, s) => sum + s.sizeBytes, 0);
    this.positions = new Map(sources.map((s, p) => [s.name, p]));
  }

  get length(): number {
    return this.sources.length;
  }

  name(position: number): string {
    return this.sources[position].name;
  }

  sizeBytes(position: number): number {
    return this.sources[position].sizeBytes;
  }

  isDirectory(position: number): boolean {
    return this.sources[position].meta?.kind === 'dir';
  }

  at(position: number): SourceFile {
    return this.sources[position];
  }

  positionOf(name: string): number {
    return this.positions.get(name) ?? -1;
  }
}

export class WalkedTree implements TreeEntries {
  /** Made by WalkedTreeBuilder.finish. */
  constructor(
    private readonly shape: TreeShape,
    private readonly columns: Columns,
    /** Position -> index into the columns, in name order. */
    private readonly order: Uint32Array,
    /** Bytes of all entries (directories and symlinks count 0). */
    readonly totalBytes: number,
    /** The names by position: packed outside the heap (packed-names.ts), or the columns' own strings by index. */
    private readonly names: PackedNames | readonly string[],
  ) {}

  get length(): number {
    return this.order.length;
  }

  name(position: number): string {
    const names = this.names;
    return names instanceof PackedNames ? names.at(position) : names[this.indexAt(position)];
  }

  sizeBytes(position: number): number {
    return this.columns.sizes.get(this.indexAt(position));
  }

  isDirectory(position: number): boolean {
    return (this.columns.flags.get(this.indexAt(position)) & KIND_MASK) === KIND_DIR;
  }

  /** The entry as the walk listed it. */
  at(position: number): SourceFile {
    const c = this.columns;
    const i = this.indexAt(position);
    const name = this.name(position);
    const flags = c.flags.get(i);
    const path = c.paths.get(i) ?? derivedPath(this.shape, name);
    const owner = { mode: c.modes.get(i), mtimeNs: c.mtimesNs.get(i), uid: c.uids.get(i), gid: c.gids.get(i) };
    const kind = flags & KIND_MASK;
    if (kind === KIND_DIR) return { path, name, sizeBytes: 0, meta: { kind: 'dir', ...owner } };
    if (kind === KIND_SYMLINK) return { path, name, sizeBytes: 0, meta: { kind: 'symlink', ...owner, target: c.targets.get(i) as string } };
    const ino = c.inos.get(i);
    const dev = c.devs.get(i);
    const sizeBytes = c.sizes.get(i);
    const meta: EntryMetadata = (flags & LINKED) !== 0 ? { ...owner, linkGroup: `${dev}:${ino}` } : owner;
    return { path, name, sizeBytes, stamp: { sizeBytes, mtimeNs: owner.mtimeNs, ctimeNs: c.ctimesNs.get(i), ino, dev }, meta };
  }

  /** The position of `name`, or -1 (binary search in name order). */
  positionOf(name: string): number {
    const names = this.names;
    if (names instanceof PackedNames) return names.positionOf(name);
    let low = 0;
    let high = this.order.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const here = names[this.order[middle]];
      if (here === name) return middle;
      if (here < name) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  toArray(): SourceFile[] {
    return Array.from({ length: this.length }, (_, p) => this.at(p));
  }

  private indexAt(position: number): number {
    if (!(position >= 0 && position < this.order.length)) throw new RangeError(`walked tree: position ${position} of ${this.order.length}`);
    return this.order[position];
  }

  /** Collects entries as a walk meets them; `finish` puts them in name order. */
  static builder(sourceDir: string, prefix: string): WalkedTreeBuilder {
    return new WalkedTreeBuilder({ sourceDir, prefix });
  }
}

export class WalkedTreeBuilder {
  private readonly columns: Columns = {
    names: [], paths: new Map(), targets: new Map(),
    sizes: new GrowingColumn(Float64Array), flags: new GrowingColumn(Uint8Array), modes: new GrowingColumn(Uint16Array),
    uids: new GrowingColumn(Uint32Array), gids: new GrowingColumn(Uint32Array),
    mtimesNs: new GrowingColumn(BigInt64Array), ctimesNs: new GrowingColumn(BigInt64Array), inos: new GrowingColumn(BigUint64Array), devs: new GrowingColumn(BigUint64Array),
  };
  private totalBytes = 0;

  constructor(private readonly shape: TreeShape) {}

  /** Takes an entry apart; one the columns cannot give back member for member is refused (a programming error). */
  add(source: SourceFile): void {
    const meta = source.meta;
    if (!meta || meta.mode === undefined || meta.mtimeNs === undefined || meta.uid === undefined || meta.gid === undefined) {
      throw new Error(`walked tree: ${source.name} has no metadata`);
    }
    const c = this.columns;
    const i = c.names.length;
    let flags: number;
    if (meta.kind === 'dir') flags = KIND_DIR;
    else if (meta.kind === 'symlink') flags = KIND_SYMLINK;
    else flags = KIND_FILE;
    const stamp = source.stamp;
    if (flags === KIND_FILE) {
      if (!stamp || stamp.sizeBytes !== source.sizeBytes || stamp.mtimeNs !== meta.mtimeNs) throw new Error(`walked tree: ${source.name}: its stamp and size disagree`);
      if (meta.linkGroup !== undefined) {
        if (meta.linkGroup !== `${stamp.dev}:${stamp.ino}`) throw new Error(`walked tree: ${source.name}: an unexpected link group`);
        flags |= LINKED;
      }
    } else if (stamp || source.sizeBytes !== 0) {
      throw new Error(`walked tree: ${source.name}: a ${meta.kind} with a size`);
    }
    // Checked before any column grows, so a refused entry leaves the columns in step.
    const fits = (value: number, max: number): boolean => Number.isInteger(value) && value >= 0 && value <= max;
    if (!fits(meta.mode, 0xffff) || !fits(meta.uid, 0xffffffff) || !fits(meta.gid, 0xffffffff) || !fits(source.sizeBytes, Number.MAX_SAFE_INTEGER)) {
      throw new RangeError(`walked tree: ${source.name}: a mode, owner or size that does not fit its column`);
    }
    if (meta.kind === 'symlink') c.targets.set(i, meta.target ?? '');
    c.names.push(source.name);
    if (source.path !== derivedPath(this.shape, source.name)) c.paths.set(i, source.path);
    c.sizes.push(source.sizeBytes);
    c.flags.push(flags);
    c.modes.push(meta.mode);
    c.uids.push(meta.uid);
    c.gids.push(meta.gid);
    c.mtimesNs.push(meta.mtimeNs);
    c.ctimesNs.push(stamp?.ctimeNs ?? 0n);
    c.inos.push(stamp?.ino ?? 0n);
    c.devs.push(stamp?.dev ?? 0n);
    this.totalBytes += source.sizeBytes;
  }

  finish(): WalkedTree {
    const names = this.columns.names;
    const order = new Uint32Array(names.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    order.sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0));
    for (let p = 1; p < order.length; p++) {
      if (names[order[p - 1]] === names[order[p]]) throw new Error(`walked tree: ${names[order[p]]} listed twice`);
    }
    // The strings are let go once packed: for a large tree they were most of the walk's heap.
    const packed = PackedNames.pack(names, order);
    if (packed) names.length = 0;
    return new WalkedTree(this.shape, this.columns, order, this.totalBytes, packed ?? names);
  }
}

export interface TreeShape {
  readonly sourceDir: string;
  readonly prefix: string;
}

export interface Columns {
  /** As the walk met them; emptied by finish once packed in name order (packed-names.ts). */
  readonly names: string[];
  /** Only where the path is not derivedPath(name). */
  readonly paths: Map<number, string>;
  readonly targets: Map<number, string>;
  readonly sizes: GrowingColumn<Float64Array>;
  readonly flags: GrowingColumn<Uint8Array>;
  readonly modes: GrowingColumn<Uint16Array>;
  readonly uids: GrowingColumn<Uint32Array>;
  readonly gids: GrowingColumn<Uint32Array>;
  readonly mtimesNs: GrowingColumn<BigInt64Array>;
  readonly ctimesNs: GrowingColumn<BigInt64Array>;
  readonly inos: GrowingColumn<BigUint64Array>;
  readonly devs: GrowingColumn<BigUint64Array>;
}

const KIND_MASK = 0b11;
const KIND_FILE = 0;
const KIND_DIR = 1;
const KIND_SYMLINK = 2;
/** A file with more than one hard link: its link group is `dev:ino`. */
const LINKED = 0b100;

/** The walk's path of a name: the tree's directory itself for the prefix, else joined with the name under the prefix. */
function derivedPath(shape: TreeShape, name: string): string {
  if (shape.prefix !== '' && name === shape.prefix) return shape.sourceDir;
  const relative = shape.prefix === '' ? name : name.slice(shape.prefix.length + 1);
  return `${shape.sourceDir}${shape.sourceDir.endsWith('/') ? '' : '/'}${relative}`;
}
