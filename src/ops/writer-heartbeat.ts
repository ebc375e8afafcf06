import { HEARTBEAT_INTERVAL_MS, staleAfterMs } from '../cluster/timing.js';
import { WritersAhead } from '../dataset/writers-ahead.js';
import { newId } from '../format/ids.js';
import { storeAt } from '../store/store-set.js';
import { announcerHere, hostName, processNamespace, processStartOf, type IntentKind, type ReaderIntent, type WriterIntent } from '../store/writer-intents.js';

/**
 * A running command's announcement on every writable store (store/writer-intents.ts), kept fresh
 * by a heartbeat while it runs and removed when it ends.
 */
class Announcement<Body> {
  readonly id = newId();
  private body: Body | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastBeatMs = 0;
  private longestGapMs = 0;

  constructor(
    private readonly kind: IntentKind,
    private readonly storePaths: readonly string[],
    private readonly render: (id: string, body: Body) => WriterIntent | ReaderIntent,
  ) {}

  /** Announce (durably enough: a lost announcement only means a command that looks dead). */
  async announce(body: Body): Promise<void> {
    this.body = body;
    await this.beat();
    if (!this.timer) {
      this.timer = setInterval(() => void this.beat(), HEARTBEAT_INTERVAL_MS);
      this.timer.unref();
    }
  }

  async finish(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.storePaths.map((p) => storeAt(p).removeIntent(this.kind, this.id).catch(() => undefined)));
  }

  /**
   * The longest time the announcement went without a fresh heartbeat since it was made, up to
   * now: a process paused (Ctrl-Z, a frozen VM) or starved shows it here once it runs again.
   */
  longestSilenceMs(): number {
    return this.lastBeatMs === 0 ? 0 : Math.max(this.longestGapMs, Date.now() - this.lastBeatMs);
  }

  private async beat(): Promise<void> {
    if (this.body === undefined) return;
    const now = Date.now();
    if (this.lastBeatMs !== 0) this.longestGapMs = Math.max(this.longestGapMs, now - this.lastBeatMs);
    this.lastBeatMs = now;
    const intent = this.render(this.id, this.body);
    await Promise.all(this.storePaths.map((p) => storeAt(p).writeIntent(this.kind, this.id, intent).catch(() => undefined)));
  }
}

/**
 * A writer's announcement of the versions it is about to write, kept fresh while it runs, so a
 * concurrent check leaves those versions alone instead of rolling them back under its feet.
 */
export class WriterHeartbeat extends Announcement<readonly { fileId: string; sequence: bigint }[]> {
  constructor(storePaths: readonly string[]) {
    // The versions are the same at every heartbeat until the next announce: rendered once.
    let rendered: { readonly of: readonly { fileId: string; sequence: bigint }[]; readonly versions: WriterIntent['versions'] } | undefined;
    super('writer', storePaths, (writerId, versions) => {
      if (rendered?.of !== versions) rendered = { of: versions, versions: versions.map((v) => ({ fileId: v.fileId, sequence: v.sequence.toString() })) };
      return { writerId, pid: process.pid, host: hostName(), namespace: processNamespace(), pidStart: ownStart(), at: Date.now(), versions: rendered.versions };
    });
  }
}

/**
 * A reader's announcement of the names it reads, made before it looks them up in the catalog, so
 * that a put committing a newer version meanwhile leaves the older blocks this reader still reads
 * (liveReadNames) and a later check collects them.
 */
export class ReaderHeartbeat extends Announcement<readonly string[] | 'all'> {
  constructor(storePaths: readonly string[]) {
    super('reader', storePaths, (readerId, names) => ({ readerId, pid: process.pid, host: hostName(), namespace: processNamespace(), pidStart: ownStart(), at: Date.now(), names }));
  }
}

/**
 * The names live readers are reading ('all' when one reads a whole tree), from every given
 * store. A collector calls this after its newer version committed: a reader that announced later
 * looked the file up after the commit, so it reads the newer version and needs nothing older.
 */
export async function liveReadNames(storePaths: readonly string[]): Promise<ReadonlySet<string> | 'all'> {
  const freshAfter = Date.now() - staleAfterMs();
  const reading = new Set<string>();
  for (const intents of await Promise.all(storePaths.map((p) => storeAt(p).readReaderIntents().catch(() => [] as ReaderIntent[])))) {
    for (const intent of intents) {
      if (!announcerAlive(intent, freshAfter)) continue;
      if (intent.names === 'all') return 'all';
      for (const name of intent.names) reading.add(name);
    }
  }
  return reading;
}

export function isBeingRead(reading: ReadonlySet<string> | 'all', name: string): boolean {
  return reading === 'all' || reading.has(name);
}

/**
 * Whether the command behind an announcement may still be running. One that ran in this
 * process's boot and pid namespace is judged by its process: gone means dead at once (a check
 * right after a put was killed here settles the put's versions without waiting for the stale
 * limit), and still there, started when the announcement says, means alive however long its
 * heartbeat has been silent (a put stopped with Ctrl-Z, a machine suspended: when it goes on it
 * writes the rest and commits, so a check must not have undone its first blocks). Anything else
 * is judged by its heartbeat: younger than the stale limit (at >= freshAfterMs). Everything in the
 * file is untrusted: an odd pid, namespace or start leaves only the heartbeat to judge.
 */
export function announcerAlive(
  intent: { readonly at: number; readonly pid?: unknown; readonly namespace?: unknown; readonly pidStart?: unknown }, freshAfterMs: number,
): boolean {
  const here = announcerHere(intent);
  return here === 'running' || (here === 'unknown' && intent.at >= freshAfterMs);
}

/** The newest version of each file that live writers announced: a collector leaves those files' blocks alone. */
export async function liveWritersAhead(storePaths: readonly string[]): Promise<WritersAhead> {
  return new WritersAhead(await liveWrittenVersions(storePaths));
}

/**
 * The versions live writers announced (`fileId@sequence`), from every given store. A repack calls
 * this after its commit before removing an old pack: a sync keeping a file's place in that pack
 * announced it before it read the catalog again (ops/write-versions.ts), so it is seen here.
 */
export async function liveWrittenVersions(storePaths: readonly string[]): Promise<ReadonlySet<string>> {
  const freshAfter = Date.now() - staleAfterMs();
  const writing = new Set<string>();
  for (const intents of await Promise.all(storePaths.map((p) => storeAt(p).readWriterIntents().catch(() => [])))) {
    for (const intent of intents) {
      if (!announcerAlive(intent, freshAfter)) continue;
      for (const v of intent.versions) writing.add(`${v.fileId}@${v.sequence}`);
    }
  }
  return writing;
}

let startOfThisProcess: string | undefined | null = null;

function ownStart(): string | undefined {
  if (startOfThisProcess === null) startOfThisProcess = processStartOf(process.pid);
  return startOfThisProcess;
}
