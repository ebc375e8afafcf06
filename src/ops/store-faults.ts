import type { Manifest } from '../format/manifest.js';
import { errnoNamedIn, type StoreFaultNote } from '../format/store-fault.js';
import { storeAt } from '../store/store-set.js';

/**
 * Why status tells the truth after a failed write: a put into a pool with one store full used to
 * warn once, and then `status` and `ls` said healthy. A command whose writes to a store failed
 * leaves a note about that store on every store it can write (the failing one included, when it
 * still takes a small file), and `status` reads the notes without reading any data. The next
 * full check that leaves the pool healthy removes them.
 */
export async function recordStoreFaults(
  writablePaths: readonly string[], manifest: Manifest, failures: ReadonlyMap<number, string>, command: string, commandStartedMs: number,
): Promise<void> {
  if (failures.size === 0) return;
  const atMs = Date.now();
  const notes: StoreFaultNote[] = [];
  for (const [slot, reason] of failures) {
    const entry = manifest.stores.find((s) => s.slot === slot);
    if (!entry) continue;
    const errno = errnoNamedIn(reason);
    notes.push({ poolId: manifest.poolId, slot, storeId: entry.storeId, reason, command, atMs, sinceMs: Math.min(commandStartedMs, atMs), ...(errno === undefined ? {} : { errno }) });
  }
  // Best effort on every store: a note is a hint for status, never needed to read data back.
  // A note already there keeps its start: files written since then may still lack blocks.
  await Promise.all(writablePaths.map(async (storePath) => {
    const store = storeAt(storePath);
    const earlier = await store.readStoreFaults().catch(() => [] as StoreFaultNote[]);
    for (const note of notes) {
      const known = earlier.find((n) => n.slot === note.slot && n.storeId === note.storeId && n.poolId === note.poolId);
      await store.writeStoreFault(known ? { ...note, sinceMs: Math.min(note.sinceMs, known.sinceMs) } : note).catch(() => undefined);
    }
  }));
}

/** The newest note about each slot that still names the slot's store (a replaced store is not blamed). */
export async function readStoreFaults(readablePaths: readonly string[], manifest: Manifest): Promise<Map<number, StoreFaultNote>> {
  const newest = new Map<number, StoreFaultNote>();
  const read = await Promise.all(readablePaths.map((p) => storeAt(p).readStoreFaults().catch(() => [] as StoreFaultNote[])));
  for (const note of read.flat()) {
    const entry = manifest.stores.find((s) => s.slot === note.slot);
    if (!entry || note.poolId !== manifest.poolId || note.storeId !== entry.storeId) continue;
    const known = newest.get(note.slot);
    if (!known) newest.set(note.slot, note);
    else newest.set(note.slot, { ...(note.atMs > known.atMs ? note : known), sinceMs: Math.min(note.sinceMs, known.sinceMs) });
  }
  return newest;
}

/** After a full check left the pool healthy: the notes it has seen through are removed everywhere. */
export async function clearStoreFaults(writablePaths: readonly string[], slots: readonly number[], upToMs: number): Promise<void> {
  await Promise.all(writablePaths.map(async (storePath) => {
    for (const slot of slots) await storeAt(storePath).removeStoreFault(slot, upToMs).catch(() => undefined);
  }));
}

/** One line for status and ls: what failed where, when, and what to do. */
export function describeStoreFault(note: StoreFaultNote, storePath: string): string {
  const when = new Date(note.atMs).toISOString().replace(/\.\d+Z$/, 'Z');
  const fix = note.errno === 'ENOSPC' || note.errno === 'EDQUOT' ? 'free space there, then run \'rain check\''
    : note.errno === 'EROFS' ? 'make it writable (remount read-write), then run \'rain check\''
      : note.errno === 'EACCES' || note.errno === 'EPERM' ? 'fix its permissions, then run \'rain check\''
        : 'fix it, then run \'rain check\'';
  return `store ${note.slot} (${storePath}): writes failed (${note.command} at ${when}): ${note.reason}; blocks are missing there; ${fix}`;
}
