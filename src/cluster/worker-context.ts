import fs from 'node:fs';
import { createCodec, type ReedSolomonCodec } from '../codec/reed-solomon.js';
import { DirectorySync } from '../store/durable-file.js';
import type { StoreAccess } from './protocol.js';

/**
 * Kept for reuse: as many as a worker uses at once (a data set's buffer per request in flight, 2
 * for put/get and 3 in a check, plus a parity scratch area per check).
 */
const IN_FLIGHT_BUFFERS = 6;

/** A worker's state across requests: which stores it may touch, open handles, codecs, buffers. */
export class WorkerContext {
  readonly slot: number;
  readonly poolId: string;
  readonly directorySync = new DirectorySync();
  private readonly stores = new Map<number, StoreAccess>();
  private readonly codecs = new Map<string, ReedSolomonCodec>();
  private readonly descriptors = new Map<string, number>();
  private readonly freeBuffers: Buffer[] = [];

  constructor(slot: number, poolId: string, stores: readonly StoreAccess[]) {
    this.slot = slot;
    this.poolId = poolId;
    for (const store of stores) this.stores.set(store.slot, store);
  }

  /** Every store of the pool as this worker may use it. */
  allStores(): StoreAccess[] {
    return [...this.stores.values()];
  }

  store(slot: number): StoreAccess {
    const store = this.stores.get(slot);
    if (!store) throw new Error(`slot ${slot} is not in this pool's manifest`);
    return store;
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
      fd = fs.openSync(path, flags);
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
