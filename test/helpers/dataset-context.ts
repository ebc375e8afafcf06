import { createCodec, type ReedSolomonCodec } from '../../src/codec/reed-solomon.js';
import type { DatasetContext, FlushFailure, StoreSlot } from '../../src/dataset/dataset-context.js';
import type { DatasetRef } from '../../src/dataset/dataset-ref.js';
import { decodeDataset } from '../../src/dataset/decode.js';
import { newId } from '../../src/format/ids.js';
import { LocalStore } from '../../src/store/local-store.js';

/**
 * What a worker gives the data set algorithms (src/dataset/), for calling them in-process over
 * real directories: one readable, writable store per directory, slot = index, a k + m codec.
 * `makeStore` lets a test put an instrumented LocalStore (one that counts reads) in its place.
 */
export class TestDatasetContext<S extends LocalStore = LocalStore> implements DatasetContext {
  readonly poolId = newId();
  readonly stores: (StoreSlot & { store: S })[];
  private readonly codecInstance: ReedSolomonCodec;

  constructor(readonly dirs: string[], k: number, m: number, makeStore: (dir: string) => S) {
    this.codecInstance = createCodec(k, m);
    this.stores = dirs.map((dir, slot) => ({ slot, store: makeStore(dir), readable: true, writable: true }));
  }

  storeOf(slot: number): StoreSlot {
    return this.stores[slot];
  }

  slots(): number[] {
    return this.stores.map((s) => s.slot);
  }

  codec(): ReedSolomonCodec {
    return this.codecInstance;
  }

  takeBuffer(bytes: number): Buffer {
    return Buffer.alloc(bytes);
  }

  giveBuffer(): void {
    // buffers are not reused in tests
  }

  async flush(): Promise<FlushFailure[]> {
    await Promise.all(this.stores.map((s) => s.store.flush()));
    return [];
  }

  /** A file's bytes decoded from its data sets (`refs`, one per data set), as a get reads them. */
  async readBack(refs: readonly DatasetRef[], sizeBytes: number): Promise<Buffer> {
    const out = Buffer.alloc(sizeBytes);
    for (const ref of refs) {
      const decoded = await decodeDataset(this, ref);
      decoded.bytes.copy(out, decoded.fileOffsetBytes);
      decoded.release();
    }
    return out;
  }
}
