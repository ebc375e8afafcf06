import path from 'node:path';
import { newId } from '../format/ids.js';
import { writeSmallFileDurably } from './durable-file.js';
import { readdirTypedOrEmpty, readSmallFile, removeFileInStore } from './guarded-fs.js';
import { SCRUB_DIR } from './store-layout.js';

/** The largest scrub log rain reads: about 4 million data set ranges; anything longer is not one. */
const MAX_SCRUB_LOG_BYTES = 256 * 1024 * 1024;

/** One scrub log file of a store: its name in scrub/ and its whole text. */
export interface ScrubLogFile {
  readonly file: string;
  readonly text: string;
}

export function isScrubLogFileName(fileName: string): boolean {
  return /^[0-9a-f]{32}\.log$/.test(fileName);
}

/**
 * Writes one scrub log file (docs/FORMAT.md §8) under a new random name, durable on return: a
 * verify or check writes one per run and store, never appends to or rewrites one, so concurrent
 * runs never touch each other's files and a crash leaves at most a temp file.
 */
export async function writeScrubLog(storePath: string, text: string): Promise<string> {
  const file = `${newId()}.log`;
  await writeSmallFileDurably(storePath, path.join(storePath, SCRUB_DIR, file), text);
  return file;
}

/** Every scrub log of the store; one that vanished (a compaction removed it) or cannot be read is skipped. */
export async function readScrubLogs(storePath: string): Promise<ScrubLogFile[]> {
  const dir = path.join(storePath, SCRUB_DIR);
  const logs: ScrubLogFile[] = [];
  for (const entry of readdirTypedOrEmpty(dir)) {
    if (!entry.isFile() || !isScrubLogFileName(entry.name)) continue;
    try {
      const bytes = readSmallFile(storePath, path.join(dir, entry.name), MAX_SCRUB_LOG_BYTES);
      if (bytes) logs.push({ file: entry.name, text: bytes.toString('utf8') });
    } catch {
      // Vanished (merged by a compaction meanwhile) or unreadable: its data sets only look older.
    }
  }
  return logs;
}

/** Removes scrub logs by name (after their content was written, merged, into a new one). */
export async function removeScrubLogs(storePath: string, files: readonly string[]): Promise<void> {
  const dir = path.join(storePath, SCRUB_DIR);
  for (const file of files) {
    if (isScrubLogFileName(file)) removeFileInStore(storePath, path.join(dir, file));
  }
}
