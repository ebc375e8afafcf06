import fs from 'node:fs';
import { fsPath } from '../format/wire-path.js';
import { createCodec, type ReedSolomonCodec } from '../codec/reed-solomon.js';
import type { DatasetContext, FlushFailure, StoreSlot } from '../dataset/dataset-context.js';
import { describeStoreError } from '../rain-error.js';
import type { Store } from '../store/store.js';
import type { StoreAccess } from './protocol.js';

/**
 * Kept for reuse: as many as a worker uses at once (a data set's buffer per request in flight, 2
 * for put/get and 3 in a check, plus a parity scratch area per check).
 */
const IN_FLIGHT_BUFFERS = 6;

/**
 * A worker's state across requests: the pool's stores as Store objects with what this command may
 * do with each, open handles, codecs, buffers. It is the data set algorithms' context.
 */
export class WorkerContext implements DatasetContext {
  readonly slot: number;
  readonly poolId: string;
  private readonly stores = new Map<number, StoreSlot>();
  private readonly codecs = new Map<string, ReedSolomonCodec>();
  private readonly descriptors = new Map<string, number>();
  private readonly freeBuffers: Buffer[] = [];

  constructor(slot: number, poolId: string, access: readonly StoreAccess[], storeFor: (access: StoreAccess) => Store) {
    this.slot = slot;
    this.poolId = poolId;
    for (const a of access) {
      this.stores.set(a.slot, { slot: a.slot, store: storeFor(a), readable: a.readable, writable: a.writable, ...(a.why === undefined ? {} : { why: a.why }) });
    }
  }

  storeOf(slot: number): StoreSlot {
    const store = this.stores.get(slot);
    if (!store) throw new Error(`slot ${slot} is not in this pool's manifest`);
    return store;
  }

  slots(): number[] {
    return [...this.stores.keys()];
  }

  /** Makes every block and record written through this worker's stores durable; the stores that failed, named. */
  async flush(): Promise<FlushFailure[]> {
    const failures: FlushFailure[] = [];
    await Promise.all([...this.stores.values()].filter((s) => s.writable).map((s) => s.store.flush().catch((error: unknown) => {
      failures.push({ slot: s.slot, reason: describeStoreError(error) });
    })));
    return failures;
  }

  codec(k: number, m: number): ReedSolomonCodec {
    const key = `${k}+${m}`;
    let codec = this.codecs.get(key);
    if (!codec) {
      codec = createCodec(k, m);
      this.codecs.set(key, codec);
    }
    return codec;
  }

  /**
   * Source and sink files are opened once per worker, not once per data set. Raw descriptors,
   * opened in this thread: inline-io.ts reads and writes them without a thread hand-off when small.
   */
  descriptor(path: string, flags: 'r' | 'r+'): number {
    const key = `${flags}:${path}`;
    let fd = this.descriptors.get(key);
    if (fd === undefined) {
      fd = fs.openSync(fsPath(path), flags);
      this.descriptors.set(key, fd);
    }
    return fd;
  }

  closeDescriptors(): void {
    for (const fd of this.descriptors.values()) {
      try {
        fs.closeSync(fd);
      } catch {
        // nothing left to do for a descriptor that will not close
      }
    }
    this.descriptors.clear();
  }

  /** Working buffers are reused across data sets so a long file does not churn the heap. */
  takeBuffer(bytes: number): Buffer {
    const index = this.freeBuffers.findIndex((b) => b.length >= bytes);
    if (index >= 0) return this.freeBuffers.splice(index, 1)[0].subarray(0, bytes);
    return Buffer.alloc(bytes);
  }

  giveBuffer(buffer: Buffer): void {
    const whole = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.buffer.byteLength - buffer.byteOffset);
    if (this.freeBuffers.length < IN_FLIGHT_BUFFERS) this.freeBuffers.push(whole);
  }
}
