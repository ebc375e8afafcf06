import path from 'node:path';
import { decodeStoreFault, encodeStoreFault, parseStoreFaultFileName, storeFaultFileName, type StoreFaultNote } from '../format/store-fault.js';
import { writeSmallFileDurably } from './durable-file.js';
import { readdirTypedOrEmpty, readSmallFile, removeFileInStore } from './guarded-fs.js';
import { FAULTS_DIR } from './store-layout.js';

/** A fault note is one line of sealed JSON; anything larger is not one. */
const MAX_FAULT_NOTE_BYTES = 4096;

/** Writes (or replaces) the note about one slot, durable on return: the newest failure wins. */
export async function writeStoreFault(storePath: string, note: StoreFaultNote): Promise<void> {
  await writeSmallFileDurably(storePath, path.join(storePath, FAULTS_DIR, storeFaultFileName(note.slot)), encodeStoreFault(note));
}

/** Every readable note of the store; a damaged or foreign file is skipped (a note is a hint, never data). */
export async function readStoreFaults(storePath: string): Promise<StoreFaultNote[]> {
  const dir = path.join(storePath, FAULTS_DIR);
  const notes: StoreFaultNote[] = [];
  for (const entry of readdirTypedOrEmpty(dir)) {
    const slot = parseStoreFaultFileName(entry.name);
    if (!entry.isFile() || slot === undefined) continue;
    try {
      const bytes = readSmallFile(storePath, path.join(dir, entry.name), MAX_FAULT_NOTE_BYTES);
      const note = bytes ? decodeStoreFault(bytes.toString('utf8')) : undefined;
      if (note && note.slot === slot) notes.push(note);
    } catch {
      // vanished (a check removed it meanwhile) or unreadable: no note
    }
  }
  return notes;
}

/** Removes the note about `slot` if it is no newer than `upToMs` (a failure seen later stays). */
export async function removeStoreFault(storePath: string, slot: number, upToMs: number): Promise<void> {
  const file = path.join(storePath, FAULTS_DIR, storeFaultFileName(slot));
  const bytes = (() => {
    try {
      return readSmallFile(storePath, file, MAX_FAULT_NOTE_BYTES);
    } catch {
      return undefined;
    }
  })();
  if (!bytes) return;
  const note = decodeStoreFault(bytes.toString('utf8'));
  if (note && note.atMs > upToMs) return;
  removeFileInStore(storePath, file);
}
