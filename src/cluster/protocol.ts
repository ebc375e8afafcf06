import type { CheckProgressCounts } from './check-progress.js';
import type { PackSource } from './pack-sources.js';
import type { DatasetRef } from '../dataset/dataset-ref.js';
import type { FileHealth } from '../dataset/file-health.js';
import type { UncommittedVersion, VersionReport } from '../dataset/results.js';
import type { ToConfirm } from '../dataset/verdicts.js';
import type { CatalogRecord } from '../format/catalog-record.js';
import type { WireError } from '../rain-error.js';
import type { StoreMethod } from '../store/store.js';

/**
 * Messages between the coordinator (the `rain` process) and its workers, one worker per store.
 * Sent over the child-process IPC channel with Node's 'advanced' (structured clone) serialisation,
 * so bigint sequence numbers and byte arrays cross intact. Every request carries an id; every
 * reply names it. Bulk bytes cross only to and from workers on other hosts (their stores' blocks);
 * workers on this host read the source and write block files, destination files and standard
 * output themselves, because every local store and the user's files are reachable from each.
 */

export interface StoreAccess {
  readonly slot: number;
  readonly path: string;
  /** False for a store that is missing, foreign, read-only or otherwise not to be written. */
  readonly writable: boolean;
  readonly readable: boolean;
  /** Why the store is not writable or readable, in words (for messages about blocks not written). */
  readonly why?: string;
}

export type { DatasetRef } from '../dataset/dataset-ref.js';
export type { BlockStatus, BlockVerdict, CheckResult, DecodeResult, EncodeResult, UncommittedVersion, VersionOutcome, VersionReport } from '../dataset/results.js';

export type { StoreScan } from '../store/store-scan.js';

/**
 * A committed file as the check needs it: its record without what only `ls` reads (the write
 * time). The per-data-set checksums stay: they decide which blocks to believe (dataset/arbiter.ts).
 * The plan goes to every worker, so its size counts six times.
 */
export type PlannedFile = Omit<CatalogRecord, 'deleted' | 'writtenAt'> & {
  /** A partial check (--percent, --older-than): only these data sets, as [first, count] ranges, are checked. */
  readonly datasetsToCheck?: readonly (readonly [number, number])[];
};

export function plannedFile(record: CatalogRecord): PlannedFile {
  const { deleted: _deleted, writtenAt: _writtenAt, ...needed } = record;
  return needed;
}

/**
 * What every worker needs to take its share of the consistency check (M4, M5): the same for all,
 * so each computes its own responsibilities with the common function and no further messages.
 */
export interface CheckPlan {
  readonly epoch: number;
  /** Slots of the workers taking part, in the order they agreed. */
  readonly membership: readonly number[];
  /** Slots of the pool's stores (placement ranks over these, never over membership). */
  readonly poolSlots: readonly number[];
  readonly repair: boolean;
  readonly committed: readonly PlannedFile[];
  /**
   * Newest committed sequence (tombstones included) of the names of the unfinished versions the
   * coordinator could name, -1 for a name with no record. Not every name: at a million names the
   * list cost each worker hundreds of MB. A name not listed is read from the catalogs by the worker.
   */
  readonly newestByName: readonly (readonly [string, bigint])[];
  readonly uncommitted: readonly UncommittedVersion[];
  /** `${fileId}@${sequence}` of versions whose writer is alive: left alone this time. */
  readonly liveVersions: readonly string[];
  /** Files whose newest record is a tombstone: their blocks below it are garbage. */
  readonly deleted: readonly { fileId: string; sequence: bigint }[];
  /**
   * Committed files whose block directories the data set check lists: those some store's scan
   * found at a sequence other than the one of all their data sets (garbage, an update in flight),
   * and those updated in part. Every other file's blocks are at one sequence only, so its data sets
   * need no listing when their blocks read good. Undefined when a store went unscanned: then the
   * check lists every file.
   */
  readonly filesToList?: readonly string[];
  /**
   * Committed files some store holds more block files of than the placement gives it (a block
   * copied in, a misdirected write): their block directories are swept of blocks no reader could
   * ever ask that store for.
   */
  readonly filesToSweep: readonly string[];
  /** Names a live reader announced it reads ('all': every name): their older blocks stay for a later check. */
  readonly readNames: readonly string[] | 'all';
  /**
   * Slots of stores a rebuild re-created empty or put in place of a lost one, whose scan found no
   * block: their blocks are restored from k others without reading the rest (dataset/rebuild-from-k.ts).
   */
  readonly lostSlots?: readonly number[];
}

/** One worker's account of its share: what it was responsible for, found and repaired. */
export interface WorkerCheckReport {
  readonly slot: number;
  readonly datasets: number;
  readonly versions: number;
  readonly files: readonly FileHealth[];
  readonly versionReports: readonly VersionReport[];
  readonly garbageBlocksRemoved: number;
  /** Data sets whose check found something not good: reported only once their record was read again (record-recheck.ts). */
  readonly toConfirm: readonly ToConfirm[];
  /** Deleted files whose blocks below their tombstone are now gone from every store of the pool. */
  readonly deletedCleaned: readonly string[];
  /** Store faults this worker met on its own store (a record it could not write), in words. */
  readonly storeFaults: readonly string[];
  readonly elapsedMs: number;
}

export type WorkerRequest =
  | { readonly op: 'open'; readonly slot: number; readonly poolId: string; readonly stores: readonly StoreAccess[] }
  | { readonly op: 'encode'; readonly ref: DatasetRef; readonly sourcePath: string; readonly packSources?: readonly PackSource[]; readonly keepIfChecksum?: number }
  | { readonly op: 'decode'; readonly ref: DatasetRef; readonly sink: DecodeSink; readonly slices?: readonly DecodeSlice[] }
  | { readonly op: 'check'; readonly ref: DatasetRef; readonly repair: boolean }
  | { readonly op: 'flush' }
  | { readonly op: 'scan'; readonly detailed?: boolean; readonly repairLayout?: boolean }
  | { readonly op: 'init-enter'; readonly epoch: number; readonly membership: readonly number[] }
  | { readonly op: 'init-register'; readonly plan: CheckPlan }
  | { readonly op: 'init-check' }
  | { readonly op: 'init-takeover'; readonly deadSlot: number; readonly membership: readonly number[] }
  | { readonly op: 'init-confirm'; readonly summary: object }
  | { readonly op: 'init-leave' }
  | { readonly op: 'remove-blocks'; readonly fileId: string; readonly sequence: bigint; readonly which: 'older' | 'exactly' }
  | { readonly op: 'collect-older'; readonly fileId: string; readonly sequence: bigint; readonly datasetSequences: readonly bigint[] };

/**
 * Where a worker on this host puts a decoded data set: into a file at its offset, or onto the
 * coordinator's standard output (which the worker holds too) when the coordinator grants this
 * data set's turn in `stream` (OutputTurnGrant). Either way the bytes never cross to the coordinator.
 */
export type DecodeSink =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'stdout'; readonly stream: string };

/**
 * A packed file inside a pack's decoded data set (docs/FORMAT.md §5.1): its bytes, checked against
 * the file's own CRC-32, go to its own sink at offset 0 instead of the data set to `sink`.
 */
export interface DecodeSlice {
  readonly offsetBytes: number;
  readonly lengthBytes: number;
  readonly checksum: number;
  readonly sink: DecodeSink;
}

/** Data set `next` of `stream` may now be written to standard output; `abandoned`: none may. */
export interface OutputTurnGrant {
  readonly outputTurn: { readonly stream: string; readonly next: number; readonly abandoned: boolean };
}

/** A reply; a failure in the one wire form of errors (rain-error.ts), so its kind and errno survive. */
export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: WireError };

export interface WorkerEnvelope {
  readonly id: number;
  readonly request: WorkerRequest;
}

/** A call of a Store method (store/store.ts), as a transport carries it to where the store is. */
export interface StoreCall {
  /** The store as the pool's manifest names it (the receiving worker on a store's own host ignores it: it serves only its own). */
  readonly location: string;
  readonly method: StoreMethod;
  readonly args: readonly unknown[];
}

/** A call on the store of a worker on another host, sent by the coordinator (answered by a WorkerReply). */
export interface StoreCallEnvelope {
  readonly id: number;
  readonly storeCall: StoreCall;
}

/** A call on a store a worker does not reach itself (another host's): the coordinator runs or forwards it. */
export interface RelayRequest {
  readonly relayId: number;
  readonly storeCall: StoreCall;
}

export type RelayReply =
  | { readonly relayId: number; readonly ok: true; readonly result: unknown }
  | { readonly relayId: number; readonly ok: false; readonly error: WireError };

/** The first frame a worker on another host sends: who answered, so version problems are named. */
export interface WorkerHello {
  readonly hello: { readonly protocol: number; readonly rainVersion: string; readonly node: string; readonly pid: number; readonly host: string };
}

/** A worker's running totals in a check (cluster/check-progress.ts): no reply, sent at most every 200 ms. */
export interface WorkerProgress {
  readonly progress: CheckProgressCounts;
}

/** Bumped whenever a message changes shape; a coordinator refuses a remote worker that speaks another. */
export const WORKER_PROTOCOL_VERSION = 3;

export type ToWorker = WorkerEnvelope | StoreCallEnvelope | RelayReply | OutputTurnGrant;
export type FromWorker = WorkerReply | RelayRequest | WorkerHello | WorkerProgress;
