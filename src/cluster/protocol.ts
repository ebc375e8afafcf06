import type { DatasetRef } from '../dataset/dataset-ref.js';
import type { CatalogRecord } from '../format/catalog-record.js';
import type { CarriedError, StoreCall } from '../store/store-router.js';
import type { FileHealth } from './file-health.js';
import type { ToConfirm } from './worker-tasks/record-recheck.js';

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
  /**
   * The version checked is no longer the name's newest (a put or rm committed meanwhile and may
   * have collected its blocks): its block verdicts mean nothing, it is neither lost nor repaired.
   */
  readonly superseded?: boolean;
  /** Why the data set is lost although enough blocks read good (they disagree, and nothing tells which are right). */
  readonly unverifiable?: string;
  /** The checksum of the data the check verified (a roll forward records it in the catalog). */
  readonly dataChecksum?: number;
  /** Blocks rewritten by a repair, verified after writing. */
  readonly repaired: readonly number[];
  /** Blocks that could not be repaired (their store is not writable, or the write failed). */
  readonly unrepaired: readonly { blockIndex: number; reason: string }[];
}

export interface EncodeResult {
  readonly datasetIndex: number;
  /** CRC-32 of the file bytes this data set holds, as read (the source may have changed since planning). */
  readonly dataChecksum: number;
  readonly written: readonly number[];
  readonly failed: readonly { blockIndex: number; slot: number; reason: string }[];
  /** The source ended before this data set's bytes (it shrank while being read): nothing was written. */
  readonly sourceEnded?: boolean;
}

export interface DecodeResult {
  readonly datasetIndex: number;
  /** Data blocks rebuilt from the others because they were missing, bad, or disagreed with the data set checksum. */
  readonly reconstructed: readonly number[];
  readonly badBlocks: readonly { blockIndex: number; slot: number; status: BlockStatus; detail?: string }[];
}

export type { StoreScan } from '../store/store-scan.js';

/** A version found on the stores that no catalog record names yet: a put that died or is running. */
export interface UncommittedVersion {
  readonly fileId: string;
  readonly sequence: bigint;
  /** Stores holding at least one of its blocks. */
  readonly slots: readonly number[];
}

/**
 * A committed file as the check needs it: its record without what only `ls` reads (the write
 * time). The per-data-set checksums stay: they decide which blocks to believe (dataset/arbiter.ts).
 * The plan goes to every worker, so its size counts six times.
 */
export type PlannedFile = Omit<CatalogRecord, 'deleted' | 'writtenAt'>;

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
  /** Newest committed sequence per name, tombstones included. */
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
}

export type VersionOutcome = 'rolled-forward' | 'rolled-back' | 'obsolete-removed' | 'in-progress' | 'committed-meanwhile' | 'unresolved';

export interface VersionReport {
  readonly fileId: string;
  readonly sequence: string;
  readonly name?: string;
  readonly outcome: VersionOutcome;
  readonly detail: string;
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
  | { readonly op: 'encode'; readonly ref: DatasetRef; readonly sourcePath: string }
  | { readonly op: 'decode'; readonly ref: DatasetRef; readonly sink: DecodeSink }
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

/** Data set `next` of `stream` may now be written to standard output; `abandoned`: none may. */
export interface OutputTurnGrant {
  readonly outputTurn: { readonly stream: string; readonly next: number; readonly abandoned: boolean };
}

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string; readonly code?: string };

export interface WorkerEnvelope {
  readonly id: number;
  readonly request: WorkerRequest;
}

/** A store operation the coordinator asks a worker to run on its store (answered by a WorkerReply). */
export interface StoreCallEnvelope {
  readonly id: number;
  readonly storeCall: StoreCall;
}

/** A store operation a worker cannot run itself (another host's store): the coordinator runs or forwards it. */
export interface RelayRequest {
  readonly relayId: number;
  readonly storeCall: StoreCall;
}

export type RelayReply =
  | { readonly relayId: number; readonly ok: true; readonly result: unknown }
  | { readonly relayId: number; readonly ok: false; readonly error: CarriedError };

/** The first frame a worker on another host sends: who answered, so version problems are named. */
export interface WorkerHello {
  readonly hello: { readonly protocol: number; readonly rainVersion: string; readonly node: string; readonly pid: number; readonly host: string };
}

/** Bumped whenever a message changes shape; a coordinator refuses a remote worker that speaks another. */
export const WORKER_PROTOCOL_VERSION = 1;

export type ToWorker = WorkerEnvelope | StoreCallEnvelope | RelayReply | OutputTurnGrant;
export type FromWorker = WorkerReply | RelayRequest | WorkerHello;
