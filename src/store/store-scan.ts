import type { Dirent } from 'node:fs';
import path from 'node:path';
import { isId } from '../format/ids.js';
import { describeStoreError } from '../rain-error.js';
import { inStore, kindOf, QUARANTINE_DIR, quarantine, readdirTypedOrEmpty } from './guarded-fs.js';
import {
  BLOCKS_DIR, CATALOG_DIR, isCatalogSegmentFileName, MANIFEST_FILE, parseBlockFileName, parseCatalogFileName, SCRUB_DIR, STORE_IDENTITY_FILE, TMP_DIR,
} from './store-layout.js';
import { READERS_DIR, WRITERS_DIR } from './writer-intents.js';
import { EPOCHS_DIR, parseEpochFileName, readClaim } from './epoch-files.js';

/** What one store holds, by names only (contents are the check's business). */
export interface StoreScan {
  readonly fileIds: readonly string[];
  /**
   * With `detailed`: per file id, each sequence of block files present and how many block files
   * carry it, as [sequence, count] pairs.
   */
  readonly sequences?: Readonly<Record<string, readonly (readonly [bigint, number])[]>>;
  readonly tempFiles: number;
  /** Entries that are not what the store layout says belongs there (docs/FORMAT.md §1) and stay so. */
  readonly anomalies: readonly string[];
  /** With `repairLayout`: the anomalies moved aside into quarantine/, and where to. */
  readonly movedAside: readonly string[];
}

export interface ScanOptions {
  /** Per file id, the sequences and counts of its block files (the check's plan needs them). */
  readonly detailed: boolean;
  /** Move anomalies into quarantine/ (rain check): the store's own directories are usable again. */
  readonly repairLayout: boolean;
}

/** Top-level entries and what they must be when present; anything else at the top is not rain's. */
const TOP_DIRECTORIES = [BLOCKS_DIR, CATALOG_DIR, EPOCHS_DIR, WRITERS_DIR, READERS_DIR, TMP_DIR, QUARANTINE_DIR, SCRUB_DIR];
const TOP_FILES = [STORE_IDENTITY_FILE, MANIFEST_FILE];

/**
 * Walks the store's own namespace once. Directory entries carry their kind (d_type), so checking
 * that every directory is a directory and every file a regular file costs no extra system call:
 * a link, FIFO, device or directory where the layout says otherwise is an anomaly. With
 * repairLayout each is moved aside, so the data set check then finds what it displaced missing
 * and rebuilds it in its proper place.
 */
export async function scanStore(storePath: string, options: ScanOptions): Promise<StoreScan> {
  const anomalies: string[] = [];
  const movedAside: string[] = [];
  /** Reports an entry that does not belong; true when it is gone from its place now. */
  const anomaly = (entry: string, what: string): boolean => {
    if (options.repairLayout) {
      try {
        movedAside.push(`${inStore(storePath, entry)} (${what}) moved to ${quarantine(storePath, entry)}`);
        return true;
      } catch (error) {
        anomalies.push(`${inStore(storePath, entry)} is ${what} and could not be moved aside: ${describeStoreError(error)}`);
        return false;
      }
    }
    anomalies.push(`${inStore(storePath, entry)} is ${what}`);
    return false;
  };
  const expectDirectory = (dir: string, entry: Dirent): boolean => {
    if (entry.isDirectory()) return true;
    anomaly(path.join(dir, entry.name), `${kindOf(entry)}, not a directory`);
    return false;
  };
  const expectFile = (dir: string, entry: Dirent): void => {
    if (!entry.isFile()) anomaly(path.join(dir, entry.name), `${kindOf(entry)}, not a regular file`);
  };

  const top = new Map(readdirTypedOrEmpty(storePath).map((entry) => [entry.name, entry]));
  const usable = new Set<string>();
  for (const name of TOP_DIRECTORIES) {
    const entry = top.get(name);
    if (entry && expectDirectory(storePath, entry)) usable.add(name);
  }
  for (const name of TOP_FILES) {
    const entry = top.get(name);
    if (entry) expectFile(storePath, entry);
  }

  const fileIds: string[] = [];
  const sequences: Record<string, [bigint, number][]> = {};
  if (usable.has(BLOCKS_DIR)) {
    const blocks = path.join(storePath, BLOCKS_DIR);
    for (const bucket of readdirTypedOrEmpty(blocks)) {
      if (!/^[0-9a-f]{2}$/.test(bucket.name) || !expectDirectory(blocks, bucket)) continue;
      const bucketDir = path.join(blocks, bucket.name);
      for (const file of readdirTypedOrEmpty(bucketDir)) {
        if (!isId(file.name) || !file.name.startsWith(bucket.name) || !expectDirectory(bucketDir, file)) continue;
        fileIds.push(file.name);
        if (!options.detailed) continue;
        const counts = new Map<bigint, number>();
        const fileDir = path.join(bucketDir, file.name);
        for (const block of readdirTypedOrEmpty(fileDir)) {
          const key = parseBlockFileName(block.name);
          if (!key) continue;
          if (!block.isFile()) {
            // Moved aside, the block is missing, and the data set check rebuilds it.
            anomaly(path.join(fileDir, block.name), `${kindOf(block)}, not a regular file`);
            if (options.repairLayout) continue;
          }
          counts.set(key.sequence, (counts.get(key.sequence) ?? 0) + 1);
        }
        sequences[file.name] = [...counts];
      }
    }
  }
  if (usable.has(CATALOG_DIR)) {
    const catalog = path.join(storePath, CATALOG_DIR);
    for (const bucket of readdirTypedOrEmpty(catalog)) {
      if (!/^[0-9a-f]{2}$/.test(bucket.name) || !expectDirectory(catalog, bucket)) continue;
      for (const record of readdirTypedOrEmpty(path.join(catalog, bucket.name))) {
        if (parseCatalogFileName(record.name) || isCatalogSegmentFileName(record.name)) expectFile(path.join(catalog, bucket.name), record);
      }
    }
  }
  if (usable.has(EPOCHS_DIR)) {
    const epochs = path.join(storePath, EPOCHS_DIR);
    for (const entry of readdirTypedOrEmpty(epochs)) {
      if (entry.name.startsWith('.')) continue;
      const parsed = parseEpochFileName(entry.name);
      if (!parsed) anomaly(path.join(epochs, entry.name), 'not an epoch file of rain (junk in epochs/)');
      else if (!entry.isFile()) anomaly(path.join(epochs, entry.name), `${kindOf(entry)}, not a regular file`);
      else if (parsed.rest === 'claim' && !(await readClaim(storePath, parsed.epoch))) {
        anomaly(path.join(epochs, entry.name), 'a claim that does not decode (junk in epochs/)');
      }
    }
  }
  for (const name of [WRITERS_DIR, READERS_DIR, TMP_DIR, SCRUB_DIR]) {
    if (!usable.has(name)) continue;
    const dir = path.join(storePath, name);
    for (const entry of readdirTypedOrEmpty(dir)) expectFile(dir, entry);
  }
  const tempFiles = usable.has(TMP_DIR) ? readdirTypedOrEmpty(path.join(storePath, TMP_DIR)).length : 0;
  return options.detailed
    ? { fileIds, sequences, tempFiles, anomalies, movedAside }
    : { fileIds, tempFiles, anomalies, movedAside };
}

