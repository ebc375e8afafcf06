import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readdirOrEmpty } from './catalog-files.js';
import { remotable } from './store-router.js';

/**
 * A writer (put, rm, ...) announces the versions it is writing before the first block lands:
 *   writers/<writerId>.json  {writerId, pid, host, at, versions: [{fileId, sequence}]}
 * rewritten as a heartbeat while it runs and removed when it finishes. The consistency check
 * leaves versions of a live writer alone and finishes or undoes those of a dead one. This is
 * not a lock: nobody waits on it, and a stale one is simply ignored.
 */
export const WRITERS_DIR = 'writers';

export interface WriterIntent {
  readonly writerId: string;
  readonly pid: number;
  readonly host: string;
  readonly at: number;
  readonly versions: readonly { fileId: string; sequence: string }[];
}

async function writeIntentHere(storePath: string, intent: WriterIntent): Promise<void> {
  const dir = path.join(storePath, WRITERS_DIR);
  // Not recursive: a vanished store must not be re-created by a heartbeat.
  await fs.mkdir(dir).catch((error: { code?: string }) => { if (error.code !== 'EEXIST') throw error; });
  const file = path.join(dir, `${intent.writerId}.json`);
  const temp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temp, JSON.stringify(intent));
  await fs.rename(temp, file);
}

async function removeIntentHere(storePath: string, writerId: string): Promise<void> {
  await fs.rm(path.join(storePath, WRITERS_DIR, `${writerId}.json`), { force: true });
}

async function readIntentsHere(storePath: string): Promise<WriterIntent[]> {
  const intents: WriterIntent[] = [];
  for (const name of await readdirOrEmpty(path.join(storePath, WRITERS_DIR))) {
    if (!name.endsWith('.json')) continue;
    try {
      const parsed = JSON.parse(await fs.readFile(path.join(storePath, WRITERS_DIR, name), 'utf8')) as WriterIntent;
      if (typeof parsed.writerId === 'string' && Array.isArray(parsed.versions) && typeof parsed.at === 'number') intents.push(parsed);
    } catch {
      // a torn or half-renamed intent is as good as none: its writer rewrites it within a second
    }
  }
  return intents;
}

export function hostName(): string {
  return os.hostname();
}

/** Intents whose heartbeat stopped long ago belong to killed writers; their versions were decided. */
async function removeDeadIntentsHere(storePath: string, silentForMs: number): Promise<number> {
  let removed = 0;
  for (const intent of await readIntents(storePath)) {
    if (Date.now() - intent.at > silentForMs) {
      await removeIntent(storePath, intent.writerId);
      removed++;
    }
  }
  return removed;
}

// Reachable from any process and host (store-router.ts); the implementations above run where the store is.
export const writeIntent = remotable('writeIntent', writeIntentHere);
export const removeIntent = remotable('removeIntent', removeIntentHere);
export const readIntents = remotable('readIntents', readIntentsHere);
export const removeDeadIntents = remotable('removeDeadIntents', removeDeadIntentsHere);
