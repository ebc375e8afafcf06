import { ioError } from '../rain-error.js';
import type { StoreAccess, WorkerRequest } from './protocol.js';
import { responsibleSlot } from './responsibility.js';
import { WorkerHandle } from './worker-handle.js';

/** How many requests may be outstanding per worker: enough to overlap I/O with coding, few enough to bound memory. */
export const IN_FLIGHT_PER_WORKER = 2;

export interface DatasetTask<R> {
  readonly fileId: string;
  readonly datasetIndex: number;
  readonly request: WorkerRequest;
  /** Called with the worker's reply, in task order when `ordered` is set. */
  readonly done: (result: R) => void | Promise<void>;
}

/**
 * The coordinator's view of its workers: one process per reachable store, each told which stores
 * it may read and write. Data sets are sent to their responsible worker, with at most
 * IN_FLIGHT_PER_WORKER * workers requests outstanding, so memory stays bounded for any file size.
 */
export class WorkerCluster {
  readonly workers: WorkerHandle[];

  private constructor(workers: WorkerHandle[]) {
    this.workers = workers;
  }

  static async start(poolId: string, stores: readonly StoreAccess[]): Promise<WorkerCluster> {
    const live = stores.filter((s) => s.readable);
    if (live.length === 0) throw ioError('no store of the pool is reachable');
    const workers = live.map((s) => new WorkerHandle(s.slot, s.path));
    const cluster = new WorkerCluster(workers);
    try {
      await Promise.all(workers.map((w) => w.request({ op: 'open', slot: w.slot, poolId, stores })));
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  get slots(): number[] {
    return this.workers.filter((w) => w.alive).map((w) => w.slot);
  }

  worker(slot: number): WorkerHandle {
    const worker = this.workers.find((w) => w.slot === slot);
    if (!worker) throw new Error(`no worker for slot ${slot}`);
    return worker;
  }

  responsibleWorker(fileId: string, datasetIndex: number): WorkerHandle {
    return this.worker(responsibleSlot(fileId, datasetIndex, this.slots));
  }

  /** Runs every task on its responsible worker; stops at the first failure (after in-flight ones settle). */
  async runDatasets<R>(tasks: Iterable<DatasetTask<R>>, options: { ordered?: boolean } = {}): Promise<void> {
    const window = Math.max(1, this.workers.length * IN_FLIGHT_PER_WORKER);
    const running = new Set<Promise<void>>();
    let failure: unknown;
    let chain: Promise<void> = Promise.resolve();
    for (const task of tasks) {
      if (failure !== undefined) break;
      while (running.size >= window) await Promise.race(running);
      if (failure !== undefined) break;
      const reply = this.responsibleWorker(task.fileId, task.datasetIndex).request<R>(task.request);
      // Ordered delivery: each completion waits for the previous one, bounded by the window.
      const delivered = options.ordered
        ? (chain = chain.then(async () => task.done(await reply)))
        : reply.then((result) => task.done(result));
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

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
