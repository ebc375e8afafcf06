import type { DatasetRef, StoreAccess } from '../cluster/protocol.js';
import { WorkerCluster } from '../cluster/worker-cluster.js';
import { makeDatasetRef } from '../dataset/dataset-ref.js';
import type { CatalogRecord } from '../format/catalog-record.js';
import { requireQuorum, storeAccess, type OpenPool } from './open-pool.js';
import { openActivePool } from './pool-gate.js';

/** An open pool with its workers running: what every data-moving operation starts from. */
export class PoolSession {
  readonly pool: OpenPool;
  readonly access: StoreAccess[];
  readonly cluster: WorkerCluster;
  /** The command this session serves (put, get, ...), for messages and fault notes. */
  readonly what: string;
  readonly startedMs = Date.now();

  private constructor(pool: OpenPool, access: StoreAccess[], cluster: WorkerCluster, what: string) {
    this.pool = pool;
    this.access = access;
    this.cluster = cluster;
    this.what = what;
  }

  static async open(poolArgument: string | undefined, what: string, mode: 'read' | 'write', finishInterrupted: boolean): Promise<PoolSession> {
    const pool = await openActivePool(poolArgument, { finishInterrupted });
    return PoolSession.start(pool, what, mode);
  }

  static async start(pool: OpenPool, what: string, mode: 'read' | 'write'): Promise<PoolSession> {
    requireQuorum(pool, what, mode);
    const access = storeAccess(pool.stores);
    const cluster = await WorkerCluster.start(pool.manifest.poolId, access);
    return new PoolSession(pool, access, cluster, what);
  }

  get slots(): number[] {
    return this.pool.manifest.stores.map((s) => s.slot);
  }

  get readablePaths(): string[] {
    return this.access.filter((s) => s.readable).map((s) => s.path);
  }

  get writablePaths(): string[] {
    return this.access.filter((s) => s.writable).map((s) => s.path);
  }

  datasetRef(record: CatalogRecord, datasetIndex: number): DatasetRef {
    return makeDatasetRef(this.pool.manifest.poolId, record, datasetIndex, this.slots);
  }

  /** Workers lost while the session ran (a remote one that stalled or dropped), one line each. */
  workersLost(): string[] {
    return this.cluster.workers.filter((w) => !w.alive).map((w) => `${w.describe()} ${w.failure ?? 'is gone'}`);
  }

  async close(): Promise<void> {
    await this.cluster.close();
  }
}

/** Opens a session, runs `body`, and always stops the workers. */
export async function withSession<T>(
  poolArgument: string | undefined, what: string, mode: 'read' | 'write', body: (session: PoolSession) => Promise<T>,
  finishInterrupted = true,
): Promise<T> {
  const session = await PoolSession.open(poolArgument, what, mode, finishInterrupted);
  try {
    return await body(session);
  } finally {
    await session.close();
  }
}
