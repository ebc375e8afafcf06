import type { ReedSolomonCodec } from '../codec/reed-solomon.js';
import type { Store } from '../store/store.js';

/** A store of the pool as the data set algorithms see it: the Store and what this command may do with it. */
export interface StoreSlot {
  readonly slot: number;
  readonly store: Store;
  readonly readable: boolean;
  readonly writable: boolean;
  /** Why it is not writable or readable, in words (for messages about blocks not written). */
  readonly why?: string;
}

/** A store whose flush failed: what was written to it since its last flush may not be durable. */
export interface FlushFailure {
  readonly slot: number;
  readonly reason: string;
}

/**
 * What the data set algorithms (this folder) need and nothing more: the pool's stores by slot, a
 * codec, and reusable buffers. A worker process provides it (cluster/worker-context.ts); a test
 * builds one over temporary directories and calls the algorithms in-process.
 */
export interface DatasetContext {
  readonly poolId: string;
  /** The store of a slot of the pool's manifest. */
  storeOf(slot: number): StoreSlot;
  /** Every slot of the pool's manifest. */
  slots(): readonly number[];
  codec(k: number, m: number): ReedSolomonCodec;
  /** A buffer of at least `bytes` (reused across data sets so a long file does not churn the heap). */
  takeBuffer(bytes: number): Buffer;
  giveBuffer(buffer: Buffer): void;
  /**
   * Makes every block and record written through these stores durable (Store.flush of each).
   * A store that fails is one failed store: named in the result, never thrown, since what was
   * written to the others is durable all the same.
   */
  flush(): Promise<readonly FlushFailure[]>;
}
