import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, fstatSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { preferBundle } from '../build/bundle-paths.js';
import { ioError } from '../rain-error.js';
import { shellQuote, type StoreLocation } from '../store/store-location.js';
import { encodeFrame, FrameReader } from './frames.js';
import { SHARED_STDOUT_FD } from './output-turns.js';
import type { FromWorker, ToWorker } from './protocol.js';

/**
 * The heap grows by at most half between full collections, in the coordinator (cli/main.ts) and
 * in every worker. Reading every catalog record (verify, check, get -r) leaves garbage several
 * times the live set, and V8's default lets the heap grow up to 4x it: with this, the peak RSS of
 * a rebuild of many files fell by two fifths in the coordinator and a quarter in a worker, at the
 * same speed (docs/PERFORMANCE.md §6 has the figures).
 */
export const HEAP_GROWING_FLAG = '--heap-growing-percent=50';

/**
 * A small young generation (workers allocate few short-lived objects; bytes live in reused
 * Buffers). No cap on the old generation beyond V8's own: a check hands every worker the whole
 * plan (0.55 KiB of heap per file), and a check of 100,000 files already needs most of 100 MiB,
 * so any fixed cap is a pool size at which rebuild stops working.
 */
export const WORKER_NODE_FLAGS = ['--max-semi-space-size=1', HEAP_GROWING_FLAG];

/**
 * libuv runs every file system call of a process on its thread pool, 4 threads by default. A
 * worker keeps up to 2 x (k+m) block writes and their fsyncs going, and on a disk an fsync holds
 * its thread for milliseconds, so with 4 threads the next data set's reads queue behind the last
 * one's fsyncs.
 */
const WORKER_IO_THREADS = '16';

/**
 * glibc's malloc.hugetlb=1 has malloc advise transparent huge pages for its large mappings: a
 * worker's data set buffers (k+m blocks each) then fault in 2 MiB at a time instead of 4 KiB,
 * which halved a 2 GiB put's page faults and cut its system time by a quarter (docs/BENCHMARKS.md).
 * Other C libraries ignore the variable. A user's own settings win over both.
 */
function workerEnvironment(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? WORKER_IO_THREADS,
    GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? 'glibc.malloc.hugetlb=1',
  };
}

/**
 * The node options a worker inherits: the coordinator's own (say --enable-source-maps), minus any
 * that run code instead of the worker's script. Started as `node -e "import(...)"`, the
 * coordinator's execArgv holds that -e: passed on, every worker would run the coordinator again,
 * and each of those its workers, without end.
 */
export function workerExecArgv(parent: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < parent.length; i++) {
    const option = parent[i];
    if (/^(-e|--eval|-p|--print|-pe|-i|--interactive|--input-type|-r|--require|--import|--loader|--experimental-loader)$/.test(option)) {
      if (!/^(-i|--interactive)$/.test(option)) i++; // and its value
      continue;
    }
    if (/^(--eval|--print|--input-type|--require|--import|--loader|--experimental-loader)=/.test(option)) continue;
    kept.push(option);
  }
  return kept;
}

/** The coordinator's transport to one worker process: a local fork with IPC, or ssh to another host. */
export interface WorkerChannel {
  /** Where the worker runs, for messages: "store 3" alone for local ones. */
  readonly where: string;
  readonly remote: boolean;
  readonly pid: number | undefined;
  send(message: ToWorker): void;
  onMessage(listener: (message: FromWorker) => void): void;
  /** Called once, with a one-line reason a user can act on. */
  onExit(listener: (how: string) => void): void;
  /** Ends the worker gracefully: it exits when its channel closes. */
  close(): void;
  /** Ends it now (a stalled connection). */
  kill(): void;
}

/**
 * The compiled worker entry point, as one bundled file when the build made one; tests that run
 * the TypeScript sources still use the build. Resolved through ../cluster/ because this module may
 * itself be inside the CLI's bundle in dist/cli/.
 */
export function workerScriptPath(): string {
  const here = fileURLToPath(new URL('../cluster/worker-main.js', import.meta.url));
  if (existsSync(here)) return preferBundle(here);
  const built = here.replace(/([\\/])src([\\/])cluster([\\/])worker-main\.js$/, '$1dist$2cluster$3worker-main.js');
  if (existsSync(built)) return preferBundle(built);
  throw ioError(`rain's worker program is missing (${here}); run 'npm run build'`);
}

/**
 * Every worker process this command started and that has not exited yet (with the store a
 * local one serves), so an interrupted command can end them all (endAllWorkers) wherever in an
 * operation it was.
 */
const running = new Map<ChildProcess, string | undefined>();

function trackRunning(child: ChildProcess, storePath: string | undefined): void {
  running.set(child, storePath);
  child.on('exit', () => running.delete(child));
  child.on('error', () => { if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) running.delete(child); });
}

/** Local workers that had to be killed, and the stores on this host they may have written temp files in. */
export interface KilledWorkers {
  readonly pids: number[];
  readonly storePaths: string[];
}

/**
 * Tells every running worker to stop: the channel is closed, and a worker whose channel closes
 * removes its own temp files and exits (worker-main.ts); over ssh the remote worker does the same
 * when its standard input ends. Resolves when all have exited, or once `graceMs` passed and
 * those left were killed (a worker stuck in a hung disk must not hold the command) and have
 * exited (at most `killWaitMs` more): it then names the local ones, whose temp files the caller
 * may remove for them.
 */
export async function endAllWorkers(graceMs: number, killWaitMs: number): Promise<KilledWorkers> {
  const storePaths = [...new Set([...running.values()].filter((p): p is string => p !== undefined && p !== ''))];
  const children = [...running.keys()];
  for (const child of children) {
    if (child.connected) child.disconnect();
    child.stdin?.end();
  }
  await exitOf(children, graceMs);
  const late = [...running.keys()];
  const lateLocal = late.filter((child) => (running.get(child) ?? '') !== '');
  for (const child of late) child.kill('SIGKILL');
  await exitOf(late, killWaitMs);
  // Only a worker known to be gone: a live one could still create a temp file after the removal.
  const pids = lateLocal.filter((child) => !running.has(child) && child.pid !== undefined).map((child) => child.pid as number);
  return { pids, storePaths };
}

/** Kills every running worker now (a second Ctrl-C: the user will not wait for them). */
export function killAllWorkers(): void {
  for (const child of running.keys()) child.kill('SIGKILL');
}

/** Waits until every one of `children` has exited, or `limitMs` passed. */
async function exitOf(children: readonly ChildProcess[], limitMs: number): Promise<void> {
  const exited = children.map((child) => new Promise<void>((resolve) => {
    if (!running.has(child)) resolve();
    else child.once('exit', () => resolve());
  }));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(exited), new Promise<void>((resolve) => { timer = setTimeout(resolve, limitMs); })]);
  clearTimeout(timer);
}

export class ForkChannel implements WorkerChannel {
  readonly remote = false;
  readonly where: string;
  private readonly child: ChildProcess;

  constructor(slot: number, storePath: string) {
    this.where = `store ${slot}`;
    this.child = fork(workerScriptPath(), ['--slot', String(slot), '--store', storePath], {
      // Workers allocate few short-lived JS objects (bytes live in reused Buffers), so a small
      // young generation costs nothing in speed and keeps each process's footprint small.
      execArgv: [...workerExecArgv(process.execArgv), ...WORKER_NODE_FLAGS],
      env: workerEnvironment(),
      serialization: 'advanced',
      // The worker's own stdout is not the user's: a stray print must never mix into `rain get`'s
      // output. The user's stdout is handed over at SHARED_STDOUT_FD for the 'stdout' decode sink.
      stdio: workerStdio(),
    });
    trackRunning(this.child, storePath);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  send(message: ToWorker): void {
    this.child.send(message, (error) => {
      // A failed send means the worker is gone; its exit event settles what was pending.
      if (error && this.child.connected) this.child.kill('SIGKILL');
    });
  }

  onMessage(listener: (message: FromWorker) => void): void {
    this.child.on('message', (raw: unknown) => listener(raw as FromWorker));
  }

  onExit(listener: (how: string) => void): void {
    let told = false;
    const tell = (how: string): void => {
      if (!told) listener(how);
      told = true;
    };
    this.child.on('exit', (code, signal) => tell(signal ? `killed by ${signal}` : `exited with code ${code}`));
    this.child.on('error', (error) => tell(`failed: ${error.message}`));
  }

  close(): void {
    if (this.child.connected) this.child.disconnect();
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** A local worker's descriptors: IPC at 3, and the coordinator's stdout at SHARED_STDOUT_FD if it has one open. */
function workerStdio(): ('ignore' | 'inherit' | 'ipc' | number)[] {
  const stdio: ('ignore' | 'inherit' | 'ipc' | number)[] = ['ignore', 'ignore', 'inherit', 'ipc'];
  try {
    fstatSync(1);
    while (stdio.length < SHARED_STDOUT_FD) stdio.push('ignore');
    stdio[SHARED_STDOUT_FD] = 1;
  } catch {
    // cron may start rain with stdout closed: then there is nothing to share
  }
  return stdio;
}

/** How long a remote worker may stay silent while requests are outstanding (docs/USER-GUIDE.md). */
export function remoteTimeoutMs(): number {
  const value = Number(process.env.RAIN_REMOTE_TIMEOUT_MS);
  return Number.isFinite(value) && value > 0 ? value : 60_000;
}

/**
 * A worker started on the store's host with the system ssh client, so the user's ssh config,
 * keys, agent and known_hosts apply. BatchMode: cron must never hang on a password or host-key
 * prompt. Keepalives end a connection whose peer vanished; the remote command is built from
 * quoted words only.
 */
export class SshChannel implements WorkerChannel {
  readonly remote = true;
  readonly where: string;
  private readonly child: ChildProcess;
  private readonly reader = new FrameReader();
  private stderrTail = '';
  private readonly location: Extract<StoreLocation, { kind: 'ssh' }>;

  constructor(location: Extract<StoreLocation, { kind: 'ssh' }>) {
    this.location = location;
    this.where = location.url;
    // In its own process group: the terminal's Ctrl-C would end ssh at once (it exits on
    // SIGINT), and the coordinator would see a lost store before its own handler ran. The
    // coordinator ends the session itself (endAllWorkers); if the coordinator dies, ssh's
    // standard input closes and the session ends all the same.
    this.child = spawn(process.env.RAIN_SSH ?? 'ssh', sshArguments(location), { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    trackRunning(this.child, undefined);
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-4096);
    });
    // A broken pipe is reported by the exit event; without a listener it would crash the coordinator.
    this.child.stdin?.on('error', () => undefined);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  send(message: ToWorker): void {
    if (this.child.stdin?.writable) this.child.stdin.write(encodeFrame(message));
  }

  onMessage(listener: (message: FromWorker) => void): void {
    this.child.stdout?.on('data', (chunk: Buffer) => {
      let messages: unknown[];
      try {
        messages = this.reader.push(chunk);
      } catch (error) {
        const output = chunk.toString('utf8').split('\n')[0].slice(0, 200);
        this.stderrTail += `\nthe remote command printed text instead of rain's worker protocol: ${output}`;
        this.kill();
        return;
      }
      for (const message of messages) listener(message as FromWorker);
    });
  }

  onExit(listener: (how: string) => void): void {
    let told = false;
    const tell = (how: string): void => {
      if (!told) listener(how);
      told = true;
    };
    this.child.on('exit', (code, signal) => tell(explainSshExit(this.location, code, signal, this.stderrTail)));
    this.child.on('error', (error) => tell(`cannot run ssh (${error.message}); install an OpenSSH client`));
  }

  close(): void {
    this.child.stdin?.end();
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

export function sshArguments(location: Extract<StoreLocation, { kind: 'ssh' }>): string[] {
  const args = [
    '-T', '-e', 'none',
    '-o', 'BatchMode=yes',
    '-o', 'ConnectTimeout=15',
    '-o', 'ServerAliveInterval=5',
    '-o', 'ServerAliveCountMax=3',
  ];
  if (process.env.RAIN_SSH_CONFIG) args.push('-F', process.env.RAIN_SSH_CONFIG);
  if (location.port !== undefined) args.push('-p', String(location.port));
  if (location.user !== undefined) args.push('-l', location.user);
  // RAIN_REMOTE_COMMAND is the local user's own setting (how to run rain over there), so it is
  // used as written; everything that comes from a store location is quoted word by word.
  const rain = process.env.RAIN_REMOTE_COMMAND ?? 'rain';
  args.push('--', location.host, `${rain} remote-worker --store ${shellQuote(location.path)}`);
  return args;
}

/** Turns ssh's exit and its last words into one line saying what is wrong and what to do. */
export function explainSshExit(location: Extract<StoreLocation, { kind: 'ssh' }>, code: number | null, signal: NodeJS.Signals | null, stderr: string): string {
  const host = `${location.user !== undefined ? `${location.user}@` : ''}${location.host}${location.port !== undefined ? `:${location.port}` : ''}`;
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^Warning: Permanently added/.test(l));
  const last = lines[lines.length - 1] ?? '';
  const said = (pattern: RegExp): boolean => lines.some((l) => pattern.test(l));
  if (said(/^rain: /)) return `${location.url}: ${lines.find((l) => /^rain: /.test(l))}`;
  if (said(/Connection refused/)) return `cannot reach ${host}: connection refused (is sshd running there, is the port right?)`;
  if (said(/Connection timed out|Operation timed out|No route to host|Network is unreachable/)) return `cannot reach ${host}: ${last}`;
  if (said(/Could not resolve hostname|Name or service not known/)) return `cannot reach ${host}: unknown host name`;
  if (said(/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/)) {
    return `ssh to ${host}: host key unknown or changed; run 'ssh ${host}' once to check and accept it (rain never answers host-key prompts)`;
  }
  if (said(/Permission denied/)) return `ssh to ${host}: permission denied; set up key login for that user (ssh-copy-id), rain runs ssh in batch mode without passwords`;
  if (code === 127 || said(/command not found|No such file or directory/)) {
    return `${host}: rain is not installed there or not on the PATH of non-interactive ssh sessions; install it there or set RAIN_REMOTE_COMMAND to its full path (${last})`;
  }
  if (signal) return `the ssh connection to ${host} was ended (${signal})${last ? `: ${last}` : ''}`;
  if (code === 255) return `the ssh connection to ${host} failed or dropped${last ? `: ${last}` : ''}`;
  return `the worker on ${host} ended (exit ${code})${last ? `: ${last}` : ''}`;
}
