/**
 * What the data set algorithms report (encode, decode, check, resolve a torn version): plain data
 * that crosses from a worker to its coordinator as it is.
 */

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
  /**
   * Blocks a rebuild did not read (rebuild-from-k.ts): k others were enough to restore the lost
   * ones. They are in no status of `blocks`: not known good, only not needed; check and verify read them.
   */
  readonly unread?: readonly number[];
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
  /** The bytes read still had the checksum the request named (`keepIfChecksum`): nothing was written, the previous blocks stay. */
  readonly kept?: boolean;
  /** Bytes this data set read from its source (what `sync` reports as read). */
  readonly sourceBytesRead: number;
  /** For a pack: the CRC-32 of each packed file's bytes as read, in pack order. */
  readonly memberChecksums?: readonly number[];
  /**
   * For a pack: the pack order of each file whose stamp changed or that had bytes past its planned
   * length once read (cluster/pack-sources.ts). Absent from a worker of an older rain: then the
   * coordinator checks the files itself.
   */
  readonly changedMembers?: readonly number[];
}

export interface DecodeResult {
  readonly datasetIndex: number;
  /** Data blocks rebuilt from the others because they were missing, bad, or disagreed with the data set checksum. */
  readonly reconstructed: readonly number[];
  readonly badBlocks: readonly { blockIndex: number; slot: number; status: BlockStatus; detail?: string }[];
}

/** A version found on the stores that no catalog record names yet: a put that died or is running. */
export interface UncommittedVersion {
  readonly fileId: string;
  readonly sequence: bigint;
  /** Stores holding at least one of its blocks. */
  readonly slots: readonly number[];
  /**
   * The sequence of a newer unfinished write of the same name, if the stores hold one. This
   * version is then never rolled forward: a later write of the name was started, so bringing
   * this one back would move the name backwards in time.
   */
  readonly newerWrite?: bigint;
}

export type VersionOutcome = 'rolled-forward' | 'rolled-back' | 'obsolete-removed' | 'in-progress' | 'committed-meanwhile' | 'unresolved';

export interface VersionReport {
  readonly fileId: string;
  readonly sequence: string;
  readonly name?: string;
  readonly outcome: VersionOutcome;
  readonly detail: string;
}

