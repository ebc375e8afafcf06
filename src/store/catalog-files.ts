import fsSync from 'node:fs';
import path from 'node:path';
import { decodeCatalogRecord, encodeCatalogRecord, type CatalogRecord } from '../format/catalog-record.js';
import { errnoCode } from '../rain-error.js';
import { DirectorySync, writeFileDurably } from './durable-file.js';
import { openForReading, readdirOrEmpty, readSmallFile, removeFileInStore } from './guarded-fs.js';
import { CATALOG_DIR, catalogRecordPath, nameHash, parseCatalogFileName } from './store-layout.js';

/** Without `sync` (a call from another process or host) the record is durable on return. */
export async function writeCatalogRecord(storePath: string, record: CatalogRecord, sync?: DirectorySync): Promise<void> {
  const text = encodeCatalogRecord(record);
  const pending = sync ?? new DirectorySync();
  await writeFileDurably(storePath, catalogRecordPath(storePath, record.name, record.sequence), [Buffer.from(text, 'utf8')], pending);
  if (!sync) await pending.flush();
}

export interface CatalogScan {
  /** The newest readable record of every name this store knows. */
  readonly records: CatalogRecord[];
  /** Record files that exist but do not decode (torn, bit-flipped, foreign). */
  readonly unreadable: string[];
}

/**
 * Reads the newest valid version of each name; older files of a name are not opened at all.
 * `only` narrows the scan to some names: just their buckets are listed, each once however many of
 * the names share it, and only their record files are read. `newerThan` (name hash -> sequence,
 * what the caller already holds from another store) skips every file at or below that sequence:
 * the listing alone shows the store has nothing newer, so it is not opened.
 */
export async function scanCatalog(
  storePath: string, only?: string | readonly string[], newerThan?: ReadonlyMap<string, bigint>,
): Promise<CatalogScan> {
  const byHash = new Map<string, { sequence: bigint; file: string }[]>();
  const onlyNames = only === undefined ? undefined : typeof only === 'string' ? [only] : only;
  const wantedHashes = onlyNames ? new Set(onlyNames.map(nameHash)) : undefined;
  const buckets = wantedHashes ? [...new Set([...wantedHashes].map((h) => h.slice(0, 2)))] : readdirOrEmpty(path.join(storePath, CATALOG_DIR));
  for (const bucket of buckets) {
    const dir = path.join(storePath, CATALOG_DIR, bucket);
    for (const file of readdirOrEmpty(dir)) {
      const parsed = parseCatalogFileName(file);
      if (!parsed || (wantedHashes && !wantedHashes.has(parsed.nameHash))) continue;
      const held = newerThan?.get(parsed.nameHash);
      if (held !== undefined && parsed.sequence <= held) continue;
      const list = byHash.get(parsed.nameHash) ?? [];
      list.push({ sequence: parsed.sequence, file: path.join(dir, file) });
      byHash.set(parsed.nameHash, list);
    }
  }
  const records: CatalogRecord[] = [];
  const unreadable: string[] = [];
  for (const [hash, listed] of byHash) {
    let versions = listed;
    // A version that vanished between the listing and the read was dropped because a newer one
    // committed (a concurrent put or rm): list the name's bucket again instead of losing the name.
    for (let attempt = 1; ; attempt++) {
      const outcome = await newestReadable(storePath, hash, versions);
      if (outcome.kind !== 'vanished' || attempt === VANISHED_RETRIES) {
        if (outcome.kind === 'record') records.push(outcome.record);
        unreadable.push(...outcome.unreadable);
        break;
      }
      const held = newerThan?.get(hash);
      versions = (await versionsOf(storePath, hash)).filter((v) => held === undefined || v.sequence > held);
    }
  }
  return { records, unreadable };
}

/** How often a scan lists a name again whose record files keep vanishing under it. */
const VANISHED_RETRIES = 5;

type NewestOutcome =
  | { kind: 'record'; record: CatalogRecord; unreadable: string[] }
  | { kind: 'vanished' | 'none'; unreadable: string[] };

/** The newest version that decodes, newest first; stops at one that vanished (ENOENT). */
async function newestReadable(storePath: string, hash: string, versions: readonly { sequence: bigint; file: string }[]): Promise<NewestOutcome> {
  const sorted = [...versions].sort((a, b) => (a.sequence < b.sequence ? 1 : a.sequence > b.sequence ? -1 : 0));
  const unreadable: string[] = [];
  for (const version of sorted) {
    const read = readRecordFile(storePath, version.file);
    if (read === 'vanished') return { kind: 'vanished', unreadable };
    // A record counts only where its file name says it is: its name's hash and its sequence.
    if (read && read.sequence === version.sequence && nameHash(read.name) === hash) return { kind: 'record', record: read, unreadable };
    unreadable.push(version.file);
  }
  return { kind: 'none', unreadable };
}

async function versionsOf(storePath: string, hash: string): Promise<{ sequence: bigint; file: string }[]> {
  const dir = path.join(storePath, CATALOG_DIR, hash.slice(0, 2));
  const versions: { sequence: bigint; file: string }[] = [];
  for (const file of readdirOrEmpty(dir)) {
    const parsed = parseCatalogFileName(file);
    if (parsed && parsed.nameHash === hash) versions.push({ sequence: parsed.sequence, file: path.join(dir, file) });
  }
  return versions;
}

/** Every version file of one name on this store, newest first (for garbage collection). */
export async function listRecordVersions(storePath: string, name: string): Promise<bigint[]> {
  const hash = nameHash(name);
  const files = readdirOrEmpty(path.join(storePath, CATALOG_DIR, hash.slice(0, 2)));
  const sequences: bigint[] = [];
  for (const file of files) {
    const parsed = parseCatalogFileName(file);
    if (parsed && parsed.nameHash === hash) sequences.push(parsed.sequence);
  }
  return sequences.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
}

/** listRecordVersions for many names, listing each catalog bucket once. */
export async function listRecordVersionsOf(storePath: string, names: readonly string[]): Promise<Map<string, bigint[]>> {
  const byHash = new Map(names.map((name) => [nameHash(name), name]));
  const versions = new Map<string, bigint[]>();
  for (const bucket of new Set([...byHash.keys()].map((h) => h.slice(0, 2)))) {
    for (const file of readdirOrEmpty(path.join(storePath, CATALOG_DIR, bucket))) {
      const parsed = parseCatalogFileName(file);
      const name = parsed && byHash.get(parsed.nameHash);
      if (!parsed || name === undefined) continue;
      versions.set(name, [...(versions.get(name) ?? []), parsed.sequence]);
    }
  }
  return versions;
}

export async function removeCatalogRecord(storePath: string, name: string, sequence: bigint): Promise<void> {
  removeFileInStore(storePath, catalogRecordPath(storePath, name, sequence));
}

/** The largest catalog record rain reads: a file of millions of data sets; anything longer is not a record. */
const MAX_RECORD_BYTES = 256 * 1024 * 1024;

function readRecordFile(storePath: string, file: string): CatalogRecord | 'vanished' | undefined {
  try {
    // In this thread: a record is a few hundred bytes, and fs.readFile in the pool is four hand-offs (inline-io.ts).
    const first = decodeCatalogRecord(readWhole(file));
    if (first.ok) return first.record;
    // A record that does not decode is judged on a checked whole-file read (guarded-fs.ts), so a
    // short read can never make it look torn, and a FIFO or device in its place is named as such.
    const whole = readSmallFile(storePath, file, MAX_RECORD_BYTES);
    if (whole === undefined) return 'vanished';
    const again = decodeCatalogRecord(whole.toString('utf8'));
    return again.ok ? again.record : undefined;
  } catch (error) {
    return errnoCode(error) === 'ENOENT' ? 'vanished' : undefined;
  }
}

/** Reused by every record read of this process (reads are synchronous, so never shared at once). */
const recordBuffer = Buffer.allocUnsafe(64 * 1024);

/**
 * open, one read, close: readFileSync reads again to see the end, a fourth system call, and on a
 * paravirtualised guest that is a quarter of reading a catalog (docs/PERFORMANCE.md §5). Opened as
 * guarded-fs.ts opens everything in a store: a FIFO reads as empty here instead of hanging.
 */
function readWhole(file: string): string {
  const fd = openForReading(file);
  let bytesRead: number;
  try {
    bytesRead = fsSync.readSync(fd, recordBuffer, 0, recordBuffer.length, 0);
  } finally {
    fsSync.closeSync(fd);
  }
  // A record this large (a file of many thousands of data sets) is decoded from the checked whole-file read.
  return bytesRead < recordBuffer.length ? recordBuffer.toString('utf8', 0, bytesRead) : '';
}

