import { ioError } from '../rain-error.js';
import { isRemoteStorePath } from '../store/store-location.js';
import { storeAt } from '../store/store-set.js';
import type { FlushFailure } from '../dataset/dataset-context.js';
import type { StoreAccess, WorkerRequest } from './protocol.js';
import { remoteWorker } from './remote-stores.js';
import { responsibleSlot } from './agreement/responsibility.js';
import { ForkChannel } from './worker-channel.js';
import { WorkerHandle } from './worker-handle.js';

/** Local coding workers started when no store is on this host (a pool entirely over ssh). */
const STORELESS_CODERS = 2;

/** How many requests may be outstanding per worker: enough to overlap I/O with coding, few enough to bound memory. */
export const IN_FLIGHT_PER_WORKER = 2;

export interface DatasetTask<R> {
  readonly fileId: string;
  readonly datasetIndex: number;
  readonly request: WorkerRequest;
  /** Called with the worker's reply. */
  readonly done: (result: R) => void | Promise<void>;
  /**
   * When set, a failed request is handed here instead of stopping the run, so a tree get goes on
   * past one lost file; what this throws stops the run as before.
   */
  readonly failed?: (error: unknown) => void | Promise<void>;
}

/**
 * The coordinator's view of its workers: one process per reachable store, each told which stores
 * it may read and write. A worker has at most IN_FLIGHT_PER_WORKER requests outstanding, so
 * memory stays bounded for any file size (see runDatasets for who gets which data set).
 */
export class WorkerCluster {
  /** One per reachable store, on this host or (ssh://) on the store's host: the check's members. */
  readonly workers: WorkerHandle[];
  /** Workers on this host that read sources and write destinations for put and get. */
  private readonly coders: WorkerHandle[];

  /** Slot -> store path, for work done here on a store whose worker is not running. */
  private readonly storePaths: ReadonlyMap<number, string>;

  private constructor(workers: WorkerHandle[], coders: WorkerHandle[], stores: readonly StoreAccess[]) {
    this.workers = workers;
    this.coders = coders;
    this.storePaths = new Map(stores.map((s) => [s.slot, s.path]));
  }

  static async start(poolId: string, stores: readonly StoreAccess[]): Promise<WorkerCluster> {
    const live = stores.filter((s) => s.readable);
    if (live.length === 0) throw ioError('no store of the pool is reachable');
    // A local worker's process starts with its first request: a get of one data set forks one,
    // an rm or a sync that finds nothing changed none. A remote one is reached at once (its
    // connection also serves the other workers' calls to its store).
    const lazyLocal = (slot: number, storePath: string): WorkerHandle => {
      const handle = new WorkerHandle(slot, { lazy: () => new ForkChannel(slot, storePath) });
      handle.startWhenNeeded({ op: 'open', slot, poolId, stores });
      return handle;
    };
    const workers = live.map((s) => {
      if (!isRemoteStorePath(s.path)) return lazyLocal(s.slot, s.path);
      const remote = remoteWorker(s.path);
      remote.slot = s.slot;
      return remote;
    });
    const local = workers.filter((w) => !w.remote);
    const extra = local.length > 0 ? [] : Array.from({ length: STORELESS_CODERS }, (_, i) => lazyLocal(-1 - i, ''));
    const cluster = new WorkerCluster(workers, [...local, ...extra], live);
    try {
      await Promise.all(workers.filter((w) => w.remote).map((w) => w.request({ op: 'open', slot: w.slot, poolId, stores })));
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  get slots(): number[] {
    return this.workers.filter((w) => w.alive).map((w) => w.slot);
  }

  /**
   * Who does a task: put and get read and write files on this host, so their data sets go to
   * local workers; checks go to every member, so a remote store's blocks are checked on its host.
   */
  private candidates(request: WorkerRequest): WorkerHandle[] {
    const local = request.op === 'encode' || request.op === 'decode';
    return (local ? this.coders : this.workers).filter((w) => w.alive);
  }

  worker(slot: number): WorkerHandle {
    const worker = this.workers.find((w) => w.slot === slot);
    if (!worker) throw new Error(`no worker for slot ${slot}`);
    return worker;
  }

  responsibleWorker(fileId: string, datasetIndex: number): WorkerHandle {
    return this.worker(responsibleSlot(fileId, datasetIndex, this.slots));
  }

  /**
   * Runs every task, at most IN_FLIGHT_PER_WORKER at a time on any one worker, so a worker holds at
   * most that many data set buffers whatever the file size. Checks go to their responsible worker
   * (the common algorithm, docs/PROTOCOL.md); put and get data sets may be coded by any local
   * worker, so each goes to the least busy one. Stops at the first failure no task took over
   * (its `failed` hook), after the in-flight ones settle.
   */
  async runDatasets<R>(tasks: Iterable<DatasetTask<R>>): Promise<void> {
    const running = new Set<Promise<void>>();
    let failure: unknown;
    let rotation = 0;
    const source = tasks[Symbol.iterator]();
    let exhausted = false;
    // A few tasks are looked ahead, so a check whose responsible worker is busy does not hold up
    // the tasks behind it that other workers could start. Put and get tasks may go to any coder,
    // so they still start in task order (a later one finds no room where an earlier one found none).
    const lookahead = Math.max(1, this.workers.length * IN_FLIGHT_PER_WORKER * 2);
    const waiting: DatasetTask<R>[] = [];
    const dispatch = (task: DatasetTask<R>, target: WorkerHandle): void => {
      const delivered = target.request<R>(task.request).then((result) => task.done(result), task.failed);
      const tracked: Promise<void> = delivered.then(
        () => { running.delete(tracked); },
        (error: unknown) => { running.delete(tracked); failure ??= error; },
      );
      running.add(tracked);
    };
    while (failure === undefined) {
      while (!exhausted && waiting.length < lookahead) {
        const next = source.next();
        if (next.done) exhausted = true;
        else waiting.push(next.value);
      }
      if (waiting.length === 0) break;
      let started = 0;
      for (let i = 0; i < waiting.length && failure === undefined; ) {
        const task = waiting[i];
        const candidates = this.candidates(task.request);
        if (candidates.length === 0) {
          failure = ioError('no worker of the pool is running any more');
          break;
        }
        const target = this.assignee(task.fileId, task.datasetIndex, task.request, candidates, rotation++);
        // A task counts until its `done` has finished, not just until its reply arrived: a slow
        // `done` (a tree get committing files) must not let replies pile up without bound.
        const undeliveredRoom = running.size < Math.max(1, this.workers.length * IN_FLIGHT_PER_WORKER);
        if ((target.inFlight < IN_FLIGHT_PER_WORKER && undeliveredRoom) || running.size === 0) {
          waiting.splice(i, 1);
          dispatch(task, target);
          started++;
        } else {
          i++;
        }
      }
      if (started === 0 && failure === undefined) await Promise.race(running);
    }
    await Promise.all(running);
    if (failure !== undefined) throw failure;
  }

  private assignee(fileId: string, datasetIndex: number, request: WorkerRequest, candidates: readonly WorkerHandle[], rotation: number): WorkerHandle {
    if (request.op !== 'encode' && request.op !== 'decode') {
      const slot = responsibleSlot(fileId, datasetIndex, candidates.map((w) => w.slot));
      return candidates.find((w) => w.slot === slot) as WorkerHandle;
    }
    // Least busy first; among the least busy a running worker before one not started yet (no
    // process is forked while one idles); the rotating start spreads the rest.
    let best = candidates[rotation % candidates.length];
    for (let i = 1; i < candidates.length; i++) {
      const worker = candidates[(rotation + i) % candidates.length];
      if (worker.inFlight < best.inFlight || (worker.inFlight === best.inFlight && worker.started && !best.started)) best = worker;
    }
    return best;
  }

  /**
   * Removes blocks of a file version from each store (`slots`, else all): by the store's worker
   * when it runs, else from here through the same Store method (a worker never started is not
   * started for it: an rm or a small put forks nothing more). Failures are left for the check.
   */
  async removeOnStores(request: Extract<WorkerRequest, { op: 'remove-blocks' | 'collect-older' }>, slots?: ReadonlySet<number>): Promise<void> {
    await Promise.all(this.workers.filter((w) => w.alive && (slots === undefined || slots.has(w.slot))).map(async (w) => {
      const storePath = this.storePaths.get(w.slot);
      if (w.started || w.remote || storePath === undefined) {
        await w.request(request).catch(() => undefined);
        return;
      }
      const store = storeAt(storePath);
      const work = request.op === 'remove-blocks'
        ? store.removeFileBlocks(request.fileId, request.sequence, request.which)
        : store.collectOlderBlocks(request.fileId, request.sequence, request.datasetSequences);
      await work.catch(() => undefined);
    }));
  }

  /**
   * Starts a local coder now for a command that will surely need one (a get, a put): its node
   * start-up runs on the other core while the coordinator looks the names up.
   */
  startOneCoder(): void {
    if (this.coders.some((w) => w.started)) return;
    this.coders.find((w) => w.alive)?.startNow();
  }

  /** Tells every local coder which data set of an output stream may be written next (decode sink 'stdout'). */
  grantOutputTurn(stream: string, next: number, abandoned: boolean): void {
    for (const coder of this.coders) if (coder.alive) coder.notify({ outputTurn: { stream, next, abandoned } });
  }

  /**
   * Asks every worker to make what it wrote durable (each store's directory fsyncs) and release
   * handles; returns the stores whose flush failed (slot -> why): what went there may not be durable.
   */
  async flush(): Promise<Map<number, string>> {
    const failed = new Map<number, string>();
    // A worker never started wrote nothing.
    await Promise.all(this.workers.filter((w) => w.alive && w.started).map(async (w) => {
      const reply = await w.request<{ failures: readonly FlushFailure[] }>({ op: 'flush' });
      for (const failure of reply.failures) failed.set(failure.slot, failure.reason);
    }));
    return failed;
  }

  /** Stops the local workers; remote ones belong to the command's connections (remote-stores.ts). */
  async close(): Promise<void> {
    await Promise.all([...this.workers, ...this.coders].filter((w) => !w.remote).map((w) => w.close()));
  }
}
