import fs from 'node:fs';
import { compareCatalogNames, decodeSegmentHeader, plainNameOf, type SegmentHeader } from '../format/catalog-segment.js';
import { decodeCatalogRecord, type CatalogRecord } from '../format/catalog-record.js';
import { sealIntact } from '../format/sealed-json.js';
import { errnoCode, ioError } from '../rain-error.js';
import { openForReading } from './guarded-fs.js';
import { nameInBucket } from './store-layout.js';

/**
 * Catalog records in name order, one at a time: what a streaming reader (ls) merges. A run never
 * holds more than one chunk of its file, so many runs stream a catalog in bounded memory.
 */
export interface RecordRun {
  /** The record at the front of the run; undefined when the run is done. */
  readonly head: CatalogRecord | undefined;
  advance(): void;
  close(): void;
}

/** A sorted array as a run: plain record files, an older unordered segment loaded whole, a second copy read after damage. */
export class ArrayRun implements RecordRun {
  private index = 0;
  constructor(private readonly records: readonly CatalogRecord[]) {}
  get head(): CatalogRecord | undefined {
    return this.records[this.index];
  }
  advance(): void {
    this.index++;
  }
  close(): void {
    this.index = this.records.length;
  }
}

/** What a segment run found wrong: a damaged line (or lines missing or out of order) loses that copy of one record. */
export interface RunDamage {
  readonly file: string;
  /** The last record read before the damage (undefined: at the start). */
  readonly after: string | undefined;
}

/** The largest segment or line a run reads; longer is not a segment (as catalog-files.ts). */
const MAX_SEGMENT_BYTES = 1024 * 1024 * 1024;
const NEWLINE = 0x0a;
const EMPTY = Buffer.alloc(0);

/**
 * How a run reads when it may not hold a descriptor (a catalog of more segments than a process
 * should keep open, as after a put -r of a million files and no check): the descriptor is
 * closed after each chunk and the next chunk read by position from the first copy that opens.
 * The copies are the same bytes (content-named, docs/FORMAT.md §4.1), so any of them serves
 * any offset.
 */
export interface ReopenedCopies {
  /** Every store's copy of the segment, the one opened first among them. */
  readonly files: readonly string[];
  /** Every copy gone between chunks: a check merged the bucket; the caller reads what replaced it. */
  readonly onVanish: (vanished: RunDamage) => void;
}

/**
 * A segment written in name order (header `order: "name"`, docs/FORMAT.md §4.1) read lazily, a
 * chunk at a time, from a descriptor held open (a check that merges the segment meanwhile removes
 * its name, not the bytes this run still reads) or, with `reopen`, opened again for each chunk.
 * Each line is judged as a whole-file read judges it (catalog-segment.ts); a damaged line, a
 * record out of order, a short file or a record of another bucket is reported through
 * `onDamage` and skipped.
 */
export class SegmentRun implements RecordRun {
  head: CatalogRecord | undefined;
  private fd: number | undefined;
  private done = false;
  private buffer: Buffer = EMPTY;
  private start = 0;
  private positionBytes = 0;
  private endOfFile = false;
  private linesRead = 0;

  private constructor(
    private readonly file: string,
    private header: SegmentHeader,
    fd: number,
    private readonly chunkBytes: number,
    private readonly onDamage: (damage: RunDamage) => void,
    private readonly prefix: string | undefined,
    private readonly reopen: ReopenedCopies | undefined,
    /** Where chunks are read: reused from chunk to chunk, replaced only by a bigger one for a long line. */
    private storage: Buffer,
  ) {
    this.fd = fd;
  }

  /**
   * Opens a segment and reads its header. 'unordered': an older rain's segment (the caller loads
   * it whole); 'damaged': its header does not decode (nothing in it is believed); 'vanished': a
   * check merged it between the listing and the open. `storage` (at least chunkBytes long) is
   * where its chunks go, so many runs can share one allocation.
   */
  static open(
    file: string, chunkBytes: number, onDamage: (damage: RunDamage) => void, prefix?: string, reopen?: ReopenedCopies, storage?: Buffer,
  ): SegmentRun | 'unordered' | 'damaged' | 'vanished' {
    let fd: number;
    try {
      fd = openForReading(file);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return 'vanished';
      refuseIfOutOfDescriptors(error);
      return 'damaged';
    }
    try {
      if (!fs.fstatSync(fd).isFile()) throw new Error('not a file');
      const run = new SegmentRun(file, { bucket: '', recordCount: 0, ordered: true }, fd, chunkBytes, onDamage, prefix, reopen, storage ?? Buffer.allocUnsafe(chunkBytes));
      const line = run.nextLine();
      const header = line === undefined ? undefined : decodeSegmentHeader(line);
      if (!header) throw new Error('no header');
      if (!header.ordered) throw new UnorderedSegment();
      run.header = header;
      run.advance();
      if (reopen && run.fd !== undefined) {
        fs.closeSync(run.fd);
        run.fd = undefined;
      }
      return run;
    } catch (error) {
      fs.closeSync(fd);
      return error instanceof UnorderedSegment ? 'unordered' : 'damaged';
    }
  }

  advance(): void {
    const previous = this.head?.name;
    this.head = undefined;
    while (!this.done && this.linesRead < this.header.recordCount) {
      let line: string | undefined;
      try {
        line = this.nextLine();
      } catch (error) {
        if (!(error instanceof CopiesGone)) throw error;
        // Removed (a check merged the bucket) or unreadable on every store since the last chunk.
        if (error.vanished) this.reopen?.onVanish({ file: this.file, after: previous });
        else this.onDamage({ file: this.file, after: previous });
        break;
      }
      if (line === undefined) {
        // A short file: its missing lines are damaged copies (§4.1).
        this.onDamage({ file: this.file, after: previous });
        break;
      }
      this.linesRead++;
      if (this.prefix !== undefined) {
        // Names outside the prefix's range are passed over on their name and checksum alone, and
        // past the range the run ends: in name order the prefix's names are one stretch.
        const name = plainNameOf(line);
        if (name !== undefined && sealIntact(line)) {
          if (compareCatalogNames(name, this.prefix) < 0) continue;
          if (!name.startsWith(this.prefix)) break;
        }
      }
      const decoded = decodeCatalogRecord(line);
      if (decoded.ok && nameInBucket(decoded.record.name, this.header.bucket)
        && (previous === undefined || compareCatalogNames(previous, decoded.record.name) < 0)) {
        this.head = decoded.record;
        return;
      }
      this.onDamage({ file: this.file, after: previous });
    }
    this.close();
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.done = true;
    this.buffer = EMPTY;
    this.storage = EMPTY;
  }

  /** The next line without its newline (the last one may lack it), or undefined at the end of the file. */
  private nextLine(): string | undefined {
    for (;;) {
      const newline = this.buffer.indexOf(NEWLINE, this.start);
      if (newline >= 0) {
        const line = this.buffer.toString('utf8', this.start, newline);
        this.start = newline + 1;
        return line;
      }
      if (this.endOfFile || this.done) {
        if (this.start >= this.buffer.length) return undefined;
        const line = this.buffer.toString('utf8', this.start);
        this.start = this.buffer.length;
        return line;
      }
      this.readChunk();
    }
  }

  private readChunk(): void {
    const restBytes = this.buffer.length - this.start;
    // A line longer than a chunk (a record of a file of many data sets) grows the storage to hold it.
    const wanted = Math.max(this.chunkBytes, restBytes * 2);
    const target = this.storage.length >= wanted ? this.storage : Buffer.allocUnsafe(wanted);
    // The buffer is a view of the storage: Buffer#copy moves overlapping bytes correctly.
    this.buffer.copy(target, 0, this.start);
    this.storage = target;
    const bytesRead = this.fd !== undefined ? fs.readSync(this.fd, target, restBytes, target.length - restBytes, this.positionBytes) : this.readFromCopy(target, restBytes);
    this.positionBytes += bytesRead;
    if (bytesRead === 0 || this.positionBytes >= MAX_SEGMENT_BYTES) this.endOfFile = true;
    this.buffer = target.subarray(0, restBytes + bytesRead);
    this.start = 0;
  }

  /**
   * Reopen mode: the next chunk from the first copy that opens and reads. The first open checked
   * it was a regular file; a copy replaced since by something else fails its read, or its lines.
   */
  private readFromCopy(target: Buffer, offset: number): number {
    let vanished = true;
    for (const file of this.reopen?.files ?? []) {
      let fd: number;
      try {
        fd = openForReading(file);
      } catch (error) {
        refuseIfOutOfDescriptors(error);
        if (errnoCode(error) !== 'ENOENT') vanished = false;
        continue;
      }
      try {
        return fs.readSync(fd, target, offset, target.length - offset, this.positionBytes);
      } catch {
        vanished = false;
      } finally {
        fs.closeSync(fd);
      }
    }
    throw new CopiesGone(vanished);
  }
}

/**
 * This process (EMFILE) or the system (ENFILE) has no descriptor left: the segment is not at
 * fault, and counting it unreadable would leave its names out with a hint to repair the store.
 */
function refuseIfOutOfDescriptors(error: unknown): void {
  const code = errnoCode(error);
  if (code === 'EMFILE' || code === 'ENFILE') {
    throw ioError(`too many open files while reading the catalog (${code}); raise the limit ('ulimit -n') and run the command again`);
  }
}

/** No copy of a segment opens any more: every one removed (`vanished`), or some there but unreadable. */
class CopiesGone extends Error {
  constructor(readonly vanished: boolean) {
    super('no copy of the segment opens');
  }
}

class UnorderedSegment extends Error {}
