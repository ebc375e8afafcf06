import fs from 'node:fs';
import { compareCatalogNames, decodeSegmentHeader, plainNameIn, type SegmentHeader } from '../format/catalog-segment.js';
import { decodeCatalogRecord, decodeCatalogRecordBody, type CatalogRecord } from '../format/catalog-record.js';
import { sealedBodyStart } from '../format/sealed-json.js';
import { errnoCode, ioError } from '../rain-error.js';
import { openForReading } from './guarded-fs.js';
import { nameInBucket } from './store-layout.js';

/**
 * Catalog records in name order, one at a time: what a streaming reader (ls) merges. A run never
 * holds more than one chunk of its file, so many runs stream a catalog in bounded memory.
 */
export interface RecordRun {
  /** The name of the record at the front of the run; undefined when the run is done. */
  readonly headName: string | undefined;
  /**
   * The record at the front, decoded now (a merge decodes only the records it takes, before it
   * advances the run); undefined when it proves damaged, which is reported as damage after the
   * name before it, so a spare copy's records from there on can join.
   */
  decodeHead(): CatalogRecord | undefined;
  advance(): void;
  close(): void;
}

/** A sorted array as a run: plain record files, an older unordered segment loaded whole, a second copy read after damage. */
export class ArrayRun implements RecordRun {
  private index = 0;
  constructor(private readonly records: readonly CatalogRecord[]) {}
  get headName(): string | undefined {
    return this.records[this.index]?.name;
  }
  decodeHead(): CatalogRecord | undefined {
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
 * `onDamage` and skipped. The head stays bytes of the chunk, its seal and name checked, until
 * decodeHead: a merge of 15,871 runs held as many decoded records, each living long enough to be
 * promoted out of the young generation (GC was 2.9 s of an 18 s listing of a million names).
 */
export class SegmentRun implements RecordRun {
  headName: string | undefined;
  /** The head, when finding its name meant decoding it (a name with escapes). */
  private headRecord: CatalogRecord | undefined;
  /** Else the head's body: `buffer[headBodyStart, headBodyEnd)`, kept until advance reads on. */
  private headBodyStart = 0;
  private headBodyEnd = 0;
  /** The name read before the head (undefined: none): a spare copy takes over after it when the head proves damaged. */
  private nameBeforeHead: string | undefined;
  /** The line nextLine found: `buffer[lineStart, lineEnd)`, without its newline. */
  private lineStart = 0;
  private lineEnd = 0;
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
      const header = run.nextLine() ? decodeSegmentHeader(run.buffer.toString('utf8', run.lineStart, run.lineEnd)) : undefined;
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
    const previous = this.headName;
    this.headName = undefined;
    while (!this.done && this.linesRead < this.header.recordCount) {
      let found: boolean;
      try {
        found = this.nextLine();
      } catch (error) {
        if (!(error instanceof CopiesGone)) throw error;
        // Removed (a check merged the bucket) or unreadable on every store since the last chunk.
        if (error.vanished) this.reopen?.onVanish({ file: this.file, after: previous });
        else this.onDamage({ file: this.file, after: previous });
        break;
      }
      if (!found) {
        // A short file: its missing lines are damaged copies (§4.1).
        this.onDamage({ file: this.file, after: previous });
        break;
      }
      this.linesRead++;
      const name = this.lineName();
      if (name !== undefined && this.prefix !== undefined) {
        // Names outside the prefix's range are passed over, and past the range the run ends: in
        // name order the prefix's names are one stretch.
        if (compareCatalogNames(name, this.prefix) < 0) continue;
        if (!name.startsWith(this.prefix)) break;
      }
      if (name !== undefined && nameInBucket(name, this.header.bucket) && (previous === undefined || compareCatalogNames(previous, name) < 0)) {
        this.headName = name;
        this.nameBeforeHead = previous;
        return;
      }
      this.onDamage({ file: this.file, after: previous });
    }
    this.close();
  }

  decodeHead(): CatalogRecord | undefined {
    if (this.headName === undefined) return undefined;
    if (this.headRecord !== undefined) return this.headRecord;
    const decoded = decodeCatalogRecordBody(this.buffer.toString('utf8', this.headBodyStart, this.headBodyEnd));
    if (decoded.ok && decoded.record.name === this.headName) return decoded.record;
    // Sealed, yet not a record, or not of the name found in it: nothing in the line is believed.
    this.onDamage({ file: this.file, after: this.nameBeforeHead });
    return undefined;
  }

  /**
   * The name of the line nextLine found, its seal checked on the bytes; undefined when the line
   * is damaged. A name with escapes is found by decoding the whole line (then kept decoded).
   */
  private lineName(): string | undefined {
    this.headRecord = undefined;
    const bodyStart = sealedBodyStart(this.buffer, this.lineStart, this.lineEnd);
    if (bodyStart < 0) return undefined;
    this.headBodyStart = bodyStart;
    this.headBodyEnd = this.lineEnd - 1;
    const name = plainNameIn(this.buffer, bodyStart, this.headBodyEnd);
    if (name !== undefined) return name;
    const decoded = decodeCatalogRecord(this.buffer.toString('utf8', this.lineStart, this.lineEnd));
    if (!decoded.ok) return undefined;
    this.headRecord = decoded.record;
    return decoded.record.name;
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.done = true;
    this.buffer = EMPTY;
    this.storage = EMPTY;
  }

  /**
   * Finds the next line, `buffer[lineStart, lineEnd)` without its newline (the last one may lack
   * it); false at the end of the file. Reading on may move the buffer's bytes: a head kept as
   * bytes is used up before.
   */
  private nextLine(): boolean {
    for (;;) {
      const newline = this.buffer.indexOf(NEWLINE, this.start);
      if (newline >= 0) {
        this.lineStart = this.start;
        this.lineEnd = newline;
        this.start = newline + 1;
        return true;
      }
      if (this.endOfFile || this.done) {
        if (this.start >= this.buffer.length) return false;
        this.lineStart = this.start;
        this.lineEnd = this.buffer.length;
        this.start = this.buffer.length;
        return true;
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
