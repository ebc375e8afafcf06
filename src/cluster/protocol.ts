/**
 * Messages between the coordinator (the `rain` process) and its workers, one worker per store.
 * Sent over the child-process IPC channel with Node's 'advanced' (structured clone) serialisation,
 * so bigint sequence numbers and byte arrays cross intact. Every request carries an id; every
 * reply names it. Bulk bytes cross only when they must (stdout); workers otherwise read the source
 * and write block files themselves, because every local store is reachable from every worker.
 */

export interface StoreAccess {
  readonly slot: number;
  readonly path: string;
  /** False for a store that is missing, foreign, read-only or otherwise not to be written. */
  readonly writable: boolean;
  readonly readable: boolean;
}

/** Everything a worker needs to find, check or build one data set; the same for every worker. */
export interface DatasetRef {
  readonly poolId: string;
  readonly name: string;
  readonly fileId: string;
  readonly sequence: bigint;
  readonly fileSizeBytes: number;
  readonly k: number;
  readonly m: number;
  readonly blockSizeBytes: number;
  readonly datasetIndex: number;
  readonly datasetCount: number;
  /** placement[b] is the slot of block b. */
  readonly placement: readonly number[];
}

export type BlockStatus = 'good' | 'missing' | 'corrupt' | 'stale';

export interface BlockVerdict {
  readonly blockIndex: number;
  readonly slot: number;
  readonly status: BlockStatus;
  readonly detail?: string;
  /** A newer sequence of this block exists: an update that has not (yet) committed. */
  readonly newerPresent: boolean;
}

export interface CheckResult {
  readonly datasetIndex: number;
  readonly blocks: readonly BlockVerdict[];
  readonly goodCount: number;
  readonly recoverable: boolean;
  /** Blocks rewritten by a repair, verified after writing. */
  readonly repaired: readonly number[];
  /** Blocks that could not be repaired (their store is not writable, or the write failed). */
  readonly unrepaired: readonly { blockIndex: number; reason: string }[];
}

export interface EncodeResult {
  readonly datasetIndex: number;
  readonly written: readonly number[];
  readonly failed: readonly { blockIndex: number; slot: number; reason: string }[];
}

export interface DecodeResult {
  readonly datasetIndex: number;
  readonly reconstructed: readonly number[];
  readonly badBlocks: readonly { blockIndex: number; slot: number; status: BlockStatus; detail?: string }[];
  /** Present only for the 'return' sink. */
  readonly bytes?: Uint8Array;
}

export interface StoreScan {
  readonly fileIds: readonly string[];
  readonly tempFiles: number;
}

export type WorkerRequest =
  | { readonly op: 'open'; readonly slot: number; readonly poolId: string; readonly stores: readonly StoreAccess[] }
  | { readonly op: 'encode'; readonly ref: DatasetRef; readonly sourcePath: string }
  | { readonly op: 'decode'; readonly ref: DatasetRef; readonly sink: { kind: 'file'; path: string } | { kind: 'return' } }
  | { readonly op: 'check'; readonly ref: DatasetRef; readonly repair: boolean }
  | { readonly op: 'flush' }
  | { readonly op: 'scan' }
  | { readonly op: 'remove-blocks'; readonly fileId: string; readonly sequence: bigint; readonly which: 'older' | 'exactly' };

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string; readonly code?: string };

export interface WorkerEnvelope {
  readonly id: number;
  readonly request: WorkerRequest;
}
