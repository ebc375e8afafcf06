import { ioError } from '../rain-error.js';
import { isRemoteStorePath } from '../store/store-location.js';
import type { StoreAccess, WorkerRequest } from './protocol.js';
import { remoteWorker } from './remote-stores.js';
import { responsibleSlot } from './responsibility.js';
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
  /** Called with the worker's reply, in task order when `ordered` is set. */
  readonly done: (result: R) => void | Promise<void>;
  /**
   * When set, a failed request is handed here instead of stopping the run, so a tree get goes on
   * past one lost file; what this throws stops the run as before.
   */
  readonly failed?: (error: unknown) => void | Promise<void>;
}

/**
 * The coordinator's view of its workers: one process per reachable store, each told which stores
 * it may read and write. Data sets are sent to their responsible worker, with at most
 * IN_FLIGHT_PER_WORKER * workers requests outstanding, so memory stays bounded for any file size.
 */
export class WorkerCluster {
  /** One per reachable store, on this host or (ssh://) on the store's host: the check's members. */
  readonly workers: WorkerHandle[];
  /** Workers on this host that read sources and write destinations for put and get. */
  private readonly coders: WorkerHandle[];

  private constructor(workers: WorkerHandle[], coders: WorkerHandle[]) {
    this.workers = workers;
    this.coders = coders;
  }

  static async start(poolId: string, stores: readonly StoreAccess[]): Promise<WorkerCluster> {
    const live = stores.filter((s) => s.readable);
    if (live.length === 0) throw ioError('no store of the pool is reachable');
    const workers = live.map((s) => {
      if (!isRemoteStorePath(s.path)) return new WorkerHandle(s.slot, new ForkChannel(s.slot, s.path));
      const remote = remoteWorker(s.path);
      remote.slot = s.slot;
      return remote;
    });
    const local = workers.filter((w) => !w.remote);
    const extra = local.length > 0 ? [] : Array.from({ length: STORELESS_CODERS }, (_, i) => new WorkerHandle(-1 - i, new ForkChannel(-1 - i, '')));
    const cluster = new WorkerCluster(workers, [...local, ...extra]);
    try {
      await Promise.all([...workers, ...extra].map((w) => w.request({ op: 'open', slot: w.slot, poolId, stores })));
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

  /** Runs every task on its responsible worker; stops at the first failure no task took over (after in-flight ones settle). */
  async runDatasets<R>(tasks: Iterable<DatasetTask<R>>, options: { ordered?: boolean } = {}): Promise<void> {
    const window = Math.max(1, this.workers.length * IN_FLIGHT_PER_WORKER);
    const running = new Set<Promise<void>>();
    let failure: unknown;
    let chain: Promise<void> = Promise.resolve();
    for (const task of tasks) {
      if (failure !== undefined) break;
      while (running.size >= window) await Promise.race(running);
      if (failure !== undefined) break;
      const candidates = this.candidates(task.request);
      if (candidates.length === 0) throw ioError('no worker of the pool is running any more');
      const slot = responsibleSlot(task.fileId, task.datasetIndex, candidates.map((w) => w.slot));
      const reply = (candidates.find((w) => w.slot === slot) as WorkerHandle).request<R>(task.request);
      const settle = (): Promise<void> => reply.then((result) => task.done(result), task.failed);
      // Ordered delivery: each completion waits for the previous one, bounded by the window.
      const delivered = options.ordered ? (chain = chain.then(settle)) : settle();
      const tracked: Promise<void> = delivered.then(
        () => { running.delete(tracked); },
        (error: unknown) => { running.delete(tracked); failure ??= error; },
      );
      running.add(tracked);
    }
    await Promise.all(running);
    if (failure !== undefined) throw failure;
  }

  /** Asks every worker to make its renames durable (directory fsync) and release handles. */
  async flush(): Promise<void> {
    await Promise.all(this.workers.filter((w) => w.alive).map((w) => w.request({ op: 'flush' })));
  }

  /** Stops the local workers; remote ones belong to the command's connections (remote-stores.ts). */
  async close(): Promise<void> {
    await Promise.all([...this.workers, ...this.coders].filter((w) => !w.remote).map((w) => w.close()));
  }
}
