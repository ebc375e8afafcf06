import { fromWire, ioError, toWire } from '../rain-error.js';
import { storeAt } from '../store/store-set.js';
import { storeChangesStopped } from '../store/stopping.js';
import { callStore, isStoreMethod } from '../store/store.js';
import { WORKER_PROTOCOL_VERSION, type FromWorker, type OutputTurnGrant, type StoreCall, type WorkerRequest } from './protocol.js';
import { remoteTimeoutMs, type WorkerChannel } from './worker-channel.js';
import type { CheckProgressCounts } from './check-progress.js';

export { WORKER_NODE_FLAGS, workerScriptPath } from './worker-channel.js';

/** How long a remote worker may take to start (ssh handshake, node start-up on the far host). */
const REMOTE_START_LIMIT_MS = 30_000;

/**
 * The coordinator's end of one worker process: requests and store calls with replies, the
 * worker's own store calls served (run here or forwarded to the host that has the store), and
 * failure of everything pending if the worker dies or, on another host, falls silent.
 */
export class WorkerHandle {
  /** The store slot this worker serves; set by the cluster that opens it (a remote one may exist before). */
  slot: number;
  private channelOrUndefined: WorkerChannel | undefined;
  /** A local worker's process is started by its first request (startWhenNeeded): a command that needs none forks none. */
  private startChannel: (() => WorkerChannel) | undefined;
  /** The request a lazily started worker is opened with before anything else is sent to it. */
  private openRequest: WorkerRequest | undefined;
  private opened: Promise<unknown> | undefined;
  /** Output turn grants told while not started, handed over when it starts (a coder may need an earlier grant). */
  private readonly heldGrants = new Map<string, OutputTurnGrant>();
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private exited: string | undefined;
  private lastHeardMs = Date.now();
  private remotePid: number | undefined;
  private readonly stallTimer: NodeJS.Timeout | undefined;
  /** Requests (data sets, scans) sent and not yet answered; store calls relayed for others do not count. */
  inFlight = 0;
  /** Told the worker's running totals while it checks (a check's progress bar). */
  onProgress: ((counts: CheckProgressCounts) => void) | undefined;

  constructor(slot: number, channel: WorkerChannel | { lazy: () => WorkerChannel }) {
    this.slot = slot;
    if ('lazy' in channel) {
      this.startChannel = channel.lazy;
      this.stallTimer = undefined;
      return;
    }
    this.channelOrUndefined = channel;
    channel.onMessage((message) => this.onMessage(message));
    channel.onExit((how) => this.onExit(how));
    if (channel.remote) {
      const timeoutMs = remoteTimeoutMs();
      // Until the worker has said hello, ssh is still connecting and node starting over there:
      // that is bounded by ssh's ConnectTimeout and this wider limit, not by the stall limit.
      const startLimitMs = Math.max(timeoutMs, REMOTE_START_LIMIT_MS);
      this.stallTimer = setInterval(() => {
        const limitMs = this.remotePid === undefined ? startLimitMs : timeoutMs;
        if (this.pending.size > 0 && Date.now() - this.lastHeardMs > limitMs) {
          this.onExit(this.remotePid === undefined
            ? `did not start within ${Math.round(limitMs / 1000)} s`
            : `did not answer for ${Math.round(limitMs / 1000)} s (connection stalled; RAIN_REMOTE_TIMEOUT_MS)`);
          channel.kill();
        }
      }, Math.min(1000, timeoutMs / 4));
      this.stallTimer.unref();
    }
  }

  /** The channel, started now if it was waiting for its first message. */
  private get channel(): WorkerChannel {
    if (this.channelOrUndefined === undefined) {
      const channel = (this.startChannel as () => WorkerChannel)();
      this.startChannel = undefined;
      this.channelOrUndefined = channel;
      channel.onMessage((message) => this.onMessage(message));
      channel.onExit((how) => this.onExit(how));
    }
    return this.channelOrUndefined;
  }

  /**
   * Makes this (local) worker start only when first asked for something, opened with `open`
   * before that: a get of one small file forks one worker, an rm none (docs/PERFORMANCE.md §5.3).
   */
  startWhenNeeded(open: WorkerRequest): void {
    this.openRequest = open;
  }

  /** Starts a lazily started worker now, ahead of its first request (its start-up overlaps the caller's own work). */
  startNow(): void {
    if (this.openRequest !== undefined && !this.started && this.exited === undefined) void this.whenOpen().catch(() => undefined);
  }

  /** Its process was started (a lazily started one is not until its first request). */
  get started(): boolean {
    return this.channelOrUndefined !== undefined;
  }

  get pid(): number | undefined {
    return this.remotePid ?? this.channelOrUndefined?.pid;
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  get remote(): boolean {
    return this.channelOrUndefined?.remote ?? false;
  }

  /** Why the worker is gone, if it is. */
  get failure(): string | undefined {
    return this.exited;
  }

  request<T>(request: WorkerRequest): Promise<T> {
    this.inFlight++;
    const reply = this.whenOpen().then(() => this.send<T>((id) => ({ id, request })));
    const done = (): void => { this.inFlight--; };
    reply.then(done, done);
    return reply;
  }

  storeCall<T>(storeCall: StoreCall): Promise<T> {
    return this.whenOpen().then(() => this.send<T>((id) => ({ id, storeCall })));
  }

  /** Resolves once a lazily started worker has started and taken its open request (at once for others). */
  private whenOpen(): Promise<unknown> {
    if (this.openRequest === undefined) return Promise.resolve();
    if (this.opened === undefined) {
      const open = this.openRequest;
      this.opened = this.send((id) => ({ id, request: open }));
      for (const grant of this.heldGrants.values()) this.notify(grant);
      this.heldGrants.clear();
    }
    return this.opened;
  }

  /** A message that has no reply (an output turn grant); lost silently if the worker is gone. */
  notify(message: OutputTurnGrant): void {
    if (this.exited !== undefined) return;
    if (!this.started && this.openRequest !== undefined) {
      this.heldGrants.set(message.outputTurn.stream, message);
      return;
    }
    try {
      this.channel.send(message);
    } catch {
      // its exit settles whatever it had pending
    }
  }

  private send<T>(build: (id: number) => Parameters<WorkerChannel['send']>[0]): Promise<T> {
    if (this.exited !== undefined) return Promise.reject(ioError(`the worker of ${this.describe()} ${this.exited}`));
    // An interrupted command starts no more work in its workers (store/stopping.ts).
    if (storeChangesStopped()) return Promise.reject(ioError(`the work for ${this.describe()} was interrupted`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.pending.size === 0) this.lastHeardMs = Date.now();
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      try {
        this.channel.send(build(id));
      } catch (error) {
        this.settle(id, undefined, ioError(`cannot reach the worker of ${this.describe()}: ${error instanceof Error ? error.message : String(error)}`));
      }
    });
  }

  /** "store 3" for a local worker, the store's ssh:// location for a remote one. */
  describe(): string {
    const channel = this.channelOrUndefined;
    return channel?.remote ? channel.where : `store ${this.slot}`;
  }

  private onMessage(message: FromWorker): void {
    this.lastHeardMs = Date.now();
    if ('hello' in message) {
      this.remotePid = message.hello.pid;
      if (message.hello.protocol !== WORKER_PROTOCOL_VERSION) {
        this.onExit(`speaks worker protocol ${message.hello.protocol}, this rain speaks ${WORKER_PROTOCOL_VERSION}: install the same rain version on both hosts (remote has ${message.hello.rainVersion})`);
        this.channel.kill();
      }
      return;
    }
    if ('progress' in message) {
      this.onProgress?.(message.progress);
      return;
    }
    if ('relayId' in message) {
      const relayId = message.relayId;
      serveRelay(message.storeCall).then(
        (result) => this.channel.send({ relayId, ok: true, result }),
        (error: unknown) => this.channel.send({ relayId, ok: false, error: toWire(error) }),
      );
      return;
    }
    if (message.ok) {
      this.settle(message.id, message.result, undefined);
      return;
    }
    this.settle(message.id, undefined, fromWire(message.error));
  }

  private settle(id: number, value: unknown, error: Error | undefined): void {
    const waiter = this.pending.get(id);
    if (!waiter) return;
    this.pending.delete(id);
    if (error) waiter.reject(error);
    else waiter.resolve(value);
  }

  private onExit(how: string): void {
    if (this.exited !== undefined) return;
    this.exited = how;
    if (this.stallTimer) clearInterval(this.stallTimer);
    const channel = this.channelOrUndefined;
    for (const id of [...this.pending.keys()]) {
      const error = channel?.remote ? Object.assign(ioError(`${channel.where}: ${how}`), { code: 'ERAINREMOTE' }) : ioError(`the worker of store ${this.slot} ${how}`);
      this.settle(id, undefined, error);
    }
  }

  /** Ends the worker now (its host no longer matters to this command). */
  kill(): void {
    this.channelOrUndefined?.kill();
  }

  /** Resolves once the worker has exited (at once for one never started). */
  async close(): Promise<void> {
    if (this.exited !== undefined || !this.started) return;
    const gone = new Promise<void>((resolve) => this.channel.onExit(() => resolve()));
    this.channel.close();
    await gone;
  }
}

/**
 * A worker asks for a call on a store it does not reach itself: the coordinator runs it on the
 * Store its own routing gives for that location (a local directory here, or the store's worker
 * on another host).
 */
function serveRelay(call: StoreCall): Promise<unknown> {
  if (!isStoreMethod(call.method)) return Promise.reject(new Error(`unknown store method ${String(call.method)}`));
  return callStore(storeAt(call.location), call.method, call.args);
}
