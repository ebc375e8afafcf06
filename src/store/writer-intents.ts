import fsSync from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errnoCode } from '../rain-error.js';
import { replaceSmallFile } from './durable-file.js';
import { ensureDirectory, readdirOrEmpty, readSmallFile, removeFileInStore, verifyDirectory } from './guarded-fs.js';

/**
 * Announcements of running commands (docs/FORMAT.md §6), rewritten as a heartbeat while their
 * command runs and removed when it ends. Neither is a lock: nobody waits on them, and one whose
 * heartbeat stopped is simply ignored.
 *
 *   writers/<id>.json  a writer (put, sync, rm) announces the versions it is about to write before
 *                      the first block lands; the consistency check leaves a live writer's versions
 *                      alone and finishes or undoes those of a dead one.
 *   readers/<id>.json  a reader (get) announces the names it reads before it looks them up; whoever
 *                      would collect an older version's blocks (a put that superseded it, a check)
 *                      leaves the blocks of names a live reader reads for a later check, so a read
 *                      that started before the newer version committed still finds its blocks.
 */
export const WRITERS_DIR = 'writers';
export const READERS_DIR = 'readers';

export type IntentKind = 'writer' | 'reader';

export interface WriterIntent {
  readonly writerId: string;
  readonly pid: number;
  readonly host: string;
  /** Boot and pid namespace of the writer (processNamespace): where `pid` means something. */
  readonly namespace?: string;
  /** When `pid` started (processStartOf): tells the writer from a later process given the same pid. */
  readonly pidStart?: string;
  readonly at: number;
  readonly versions: readonly { fileId: string; sequence: string }[];
}

export interface ReaderIntent {
  readonly readerId: string;
  readonly pid: number;
  readonly host: string;
  /** As WriterIntent.namespace. */
  readonly namespace?: string;
  /** As WriterIntent.pidStart. */
  readonly pidStart?: string;
  readonly at: number;
  /** The names being read, or 'all' (a tree get reads too many to list). */
  readonly names: readonly string[] | 'all';
}

/** Announcements hold at most a batch of versions or files; anything larger is not one. */
const MAX_INTENT_BYTES = 16 * 1024 * 1024;

function directoryOf(kind: IntentKind): string {
  return kind === 'writer' ? WRITERS_DIR : READERS_DIR;
}

function intentPath(storePath: string, kind: IntentKind, id: string): string {
  if (!/^[0-9a-f]{32}$/.test(id)) throw new Error(`not an intent id: ${id}`);
  return path.join(storePath, directoryOf(kind), `${id}.json`);
}

export async function writeIntent(storePath: string, kind: IntentKind, id: string, intent: WriterIntent | ReaderIntent): Promise<void> {
  // Through tmp/ and rename into a checked directory: a vanished store is never re-created by a
  // heartbeat, and a link planted at writers/ or readers/ is never written through.
  replaceSmallFile(storePath, intentPath(storePath, kind, id), intentBytes(intent));
}

/**
 * An announcement goes to every store of the pool at each heartbeat: its bytes are made once per
 * heartbeat, not once per store (a writer's lists up to 16,384 versions, ~1.3 MB of JSON; made six
 * times a second, they cost a put -r of 50,000 files 1.3 of its 8.8 s). Keyed by the object the
 * heartbeat renders afresh each time, so nothing stale is written.
 */
const recentIntentBytes = new WeakMap<WriterIntent | ReaderIntent, Buffer>();
/** A writer's list of versions is the same at every heartbeat until its next announce: its JSON is made once. */
const versionListBytes = new WeakMap<WriterIntent['versions'], Buffer>();

function intentBytes(intent: WriterIntent | ReaderIntent): Buffer {
  let bytes = recentIntentBytes.get(intent);
  if (bytes !== undefined) return bytes;
  if ('versions' in intent && Array.isArray(intent.versions)) {
    const { versions, ...rest } = intent;
    let tail = versionListBytes.get(versions);
    if (tail === undefined) {
      tail = Buffer.from(`"versions":${JSON.stringify(versions)}}`, 'utf8');
      versionListBytes.set(versions, tail);
    }
    // The same JSON as the whole intent's, versions last (as the heartbeat renders them).
    const head = JSON.stringify(rest);
    bytes = Buffer.concat([Buffer.from(head === '{}' ? '{' : `${head.slice(0, -1)},`, 'utf8'), tail]);
  } else {
    bytes = Buffer.from(JSON.stringify(intent), 'utf8');
  }
  recentIntentBytes.set(intent, bytes);
  return bytes;
}

export async function removeIntent(storePath: string, kind: IntentKind, id: string): Promise<void> {
  removeFileInStore(storePath, intentPath(storePath, kind, id));
}

function readIntentFiles(storePath: string, kind: IntentKind): { name: string; body: Record<string, unknown> }[] {
  const dir = path.join(storePath, directoryOf(kind));
  const out: { name: string; body: Record<string, unknown> }[] = [];
  for (const name of readdirOrEmpty(dir)) {
    if (!/^[0-9a-f]{32}\.json$/.test(name)) continue;
    try {
      const bytes = readSmallFile(storePath, path.join(dir, name), MAX_INTENT_BYTES);
      const parsed: unknown = bytes === undefined ? undefined : JSON.parse(bytes.toString('utf8'));
      if (parsed !== null && typeof parsed === 'object' && typeof (parsed as { at?: unknown }).at === 'number') {
        out.push({ name, body: parsed as Record<string, unknown> });
      }
    } catch {
      // a torn, half-renamed or foreign file is as good as none: a live owner rewrites it within a second
    }
  }
  return out;
}

export async function readIntents(storePath: string): Promise<WriterIntent[]> {
  return readIntentFiles(storePath, 'writer')
    .filter(({ body }) => typeof body.writerId === 'string' && Array.isArray(body.versions))
    .map(({ body }) => body as unknown as WriterIntent);
}

export async function readReaderIntents(storePath: string): Promise<ReaderIntent[]> {
  return readIntentFiles(storePath, 'reader')
    .filter(({ body }) => typeof body.readerId === 'string' && (body.names === 'all' || Array.isArray(body.names)))
    .map(({ body }) => body as unknown as ReaderIntent);
}

export function hostName(): string {
  return os.hostname();
}

let namespaceOfThisProcess: string | undefined | null = null;

/**
 * The boot and pid namespace this process runs in (Linux: the kernel's boot id and the inode of
 * /proc/self/ns/pid), undefined where they cannot be read. Two processes with the same value see
 * the same pids, so one can tell whether the other still exists; a host name alone cannot say
 * that (containers share host names, and a pid means nothing after a reboot).
 */
export function processNamespace(): string | undefined {
  if (namespaceOfThisProcess !== null) return namespaceOfThisProcess;
  try {
    const bootId = fsSync.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const pidNamespace = fsSync.statSync('/proc/self/ns/pid').ino;
    namespaceOfThisProcess = /^[0-9a-f-]{36}$/.test(bootId) && pidNamespace > 0 ? `${bootId}/${pidNamespace}` : undefined;
  } catch {
    namespaceOfThisProcess = undefined;
  }
  return namespaceOfThisProcess;
}

/**
 * When process `pid` started, in clock ticks after boot (Linux: field 22 of /proc/<pid>/stat), or
 * undefined where that cannot be read or the process has exited (a zombie not yet reaped). With
 * processNamespace it names one process for as long as the machine runs: a pid alone may be given
 * to another process once its owner exited.
 */
export function processStartOf(pid: number): string | undefined {
  try {
    const stat = fsSync.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces or ')': fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [state, start] = [fields[0], fields[19]];
    if (state === 'Z' || state === 'X') return undefined;
    return start !== undefined && /^\d{1,20}$/.test(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes readers/ when a store is created, so that the first get of a pool does not change the
 * store's layout (a get that fails changes nothing in a store).
 */
export async function prepareIntentDirectories(storePath: string): Promise<void> {
  ensureDirectory(storePath, path.join(storePath, READERS_DIR), () => undefined);
}

/**
 * What this process can tell of the process behind an announcement: 'running' when it ran in
 * this boot and pid namespace and its pid still exists, is no zombie and started when the
 * announcement says (pidStart); 'gone' when it ran here and that process no longer exists;
 * 'unknown' otherwise (another host or namespace, an announcement without a start, odd fields:
 * everything in the file is untrusted), and then only its heartbeat can judge it.
 */
export function announcerHere(intent: { readonly pid?: unknown; readonly namespace?: unknown; readonly pidStart?: unknown }): 'running' | 'gone' | 'unknown' {
  const pid = intent.pid;
  const here = processNamespace();
  if (here === undefined || intent.namespace !== here || typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 1) return 'unknown';
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists and belongs to someone else. Only "no such process" means gone.
    if (errnoCode(error) === 'ESRCH') return 'gone';
  }
  if (typeof intent.pidStart !== 'string') return 'unknown';
  return processStartOf(pid) === intent.pidStart ? 'running' : 'gone';
}

/** Announcements whose heartbeat stopped long ago belong to killed commands (not to one stopped with Ctrl-Z on this machine). */
export async function removeDeadIntents(storePath: string, silentForMs: number): Promise<number> {
  let removed = 0;
  for (const kind of ['writer', 'reader'] as const) {
    const dir = path.join(storePath, directoryOf(kind));
    if (!verifyDirectory(storePath, dir)) continue;
    for (const { name, body } of readIntentFiles(storePath, kind)) {
      if (Date.now() - (body.at as number) > silentForMs && announcerHere(body) !== 'running') {
        removeFileInStore(storePath, path.join(dir, name));
        removed++;
      }
    }
  }
  return removed;
}

