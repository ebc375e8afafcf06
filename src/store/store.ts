import type { BlockHeader } from '../format/block-header.js';
import type { CatalogRecord } from '../format/catalog-record.js';
import type { Manifest, StoreIdentity } from '../format/manifest.js';
import type { BlockHeaderInput, BlockReadResult, BlockVerdictOnly, ExpectedBlock } from './block-files.js';
import type { CatalogCompaction, SettledBucket } from './catalog-compaction.js';
import type { CatalogScan, CatalogScope } from './catalog-files.js';
import type { ClaimsOnStore, EpochClaim, WorkerPhase } from './epoch-files.js';
import type { BlockFileKey } from './store-layout.js';
import type { MetadataRead } from './store-metadata.js';
import type { DirectoryProbe } from './store-probe.js';
import type { ScanOptions, StoreScan } from './store-scan.js';
import type { ScrubLogFile } from './scrub-files.js';
import type { StoreFaultNote } from '../format/store-fault.js';
import type { IntentKind, ReaderIntent, WriterIntent } from './writer-intents.js';

/**
 * One store of a pool, whatever kind it is (docs/ARCHITECTURE.md): a directory this process
 * reaches (LocalStore), or one reached through another process or host (RemoteStore, a proxy over
 * a transport cluster/ supplies). Everything rain does to a store goes through this interface.
 *
 * Durability: blocks and catalog records are durable once flush() has resolved (their directory
 * entries are fsynced in one batch per store, however many were written); every other write
 * (manifest, identity, claim, worker record) is durable when it resolves. Announcements and
 * heartbeats are not fsynced at all (they mean nothing after a crash).
 * Nothing found in a store is trusted (guarded-fs.ts): what is wrong there fails with a StoreError.
 */
export interface Store {
  /** The store's location as the pool's manifest names it (a local path or an ssh:// URL). */
  readonly location: string;
  /** True when calls cross to another process or host (bytes travel; verify there, fetch only to rebuild). */
  readonly remote: boolean;

  // Blocks (docs/FORMAT.md §5)
  /** Writes one block (durable at flush()); returns the payload's CRC-32, computed from the bytes written. */
  writeBlock(header: BlockHeaderInput, payload: Uint8Array): Promise<number>;
  /** Reads and checks one block; its bytes land in `into` when given and large enough. */
  readBlock(expected: ExpectedBlock, into?: Buffer): Promise<BlockReadResult>;
  /** readBlock where the store is, answering only the verdict (no bytes travel). */
  verifyBlock(expected: ExpectedBlock): Promise<BlockVerdictOnly>;
  readBlockHeader(fileId: string, key: BlockFileKey): Promise<BlockHeader | undefined>;
  listFileBlocks(fileId: string): Promise<BlockFileKey[]>;
  removeBlock(fileId: string, key: BlockFileKey): Promise<void>;
  /** Blocks of a file older than (or exactly at) a sequence; the block directory too once empty. */
  removeFileBlocks(fileId: string, sequence: bigint, which: 'older' | 'exactly'): Promise<number>;
  collectOlderBlocks(fileId: string, sequence: bigint, datasetSequences: readonly bigint[]): Promise<number>;
  sweepMisplacedBlocks(fileId: string, sequence: bigint, placedHere: readonly number[]): Promise<number>;
  /** What the store holds by name, and what breaks its layout (moved aside with repairLayout). */
  scan(options: ScanOptions): Promise<StoreScan>;

  // Catalog (docs/FORMAT.md §4)
  /** Writes one record (durable at flush()). */
  writeCatalogRecord(record: CatalogRecord): Promise<void>;
  /** Writes many records as one segment per catalog bucket (durable at flush()). */
  writeCatalogRecords(records: readonly CatalogRecord[]): Promise<void>;
  /** The newest readable record of each name, from record files and segments alike. */
  /** `skipSegments` ("HH/<file>"): content-named segments read cleanly from another store, not read again (docs/FORMAT.md §4.1). */
  scanCatalog(only?: CatalogScope, newerThan?: ReadonlyMap<string, bigint>, skipSegments?: ReadonlySet<string>): Promise<CatalogScan>;
  /** The versions a name has as plain record files (not those in segments: compactCatalog removes those). */
  listRecordVersions(name: string): Promise<bigint[]>;
  listRecordVersionsOf(names: readonly string[]): Promise<Map<string, bigint[]>>;
  /** Removes a plain record file. */
  removeCatalogRecord(name: string, sequence: bigint): Promise<void>;
  /**
   * Merges each bucket's segments (all buckets when none are given), leaving out superseded and
   * damaged copies and every version of a `drop` name at or below its sequence; durable on return.
   * Only a check or rebuild, holding the epoch, calls it.
   */
  compactCatalog(buckets: readonly string[] | undefined, drop: readonly { name: string; sequence: bigint }[]): Promise<CatalogCompaction>;
  /** A bucket's one content-named segment whose bytes hash to its name, 'empty', or undefined (catalog-compaction.ts). */
  settledCatalogBucket(bucket: string): Promise<SettledBucket | 'empty' | undefined>;
  /** The bytes of the bucket's settled segment `id` (verified to hash to it), or undefined when it no longer is that. */
  readSettledSegment(bucket: string, id: string): Promise<Buffer | undefined>;
  /** Writes another store's settled segments into a bucket empty here, durable on return; false (nothing written) otherwise. */
  adoptSettledSegments(bucket: string, segments: readonly { readonly id: string; readonly bytes: Uint8Array }[]): Promise<boolean>;

  // Scrub logs (docs/FORMAT.md §8): when data sets were last found good
  /** Writes one new scrub log file, durable on return; returns its name. */
  writeScrubLog(text: string): Promise<string>;
  readScrubLogs(): Promise<ScrubLogFile[]>;
  removeScrubLogs(files: readonly string[]): Promise<void>;

  // Fault notes (docs/FORMAT.md §9): writes to another store of the pool failed
  /** Writes or replaces the note about `note.slot`, durable on return. */
  writeStoreFault(note: StoreFaultNote): Promise<void>;
  readStoreFaults(): Promise<StoreFaultNote[]>;
  /** Removes the note about `slot` unless it is newer than `upToMs`. */
  removeStoreFault(slot: number, upToMs: number): Promise<void>;

  // Epochs: the agreement's records (docs/PROTOCOL.md)
  /** Exclusive: true if this call created the claim, false if one existed. */
  createClaim(claim: EpochClaim): Promise<boolean>;
  readClaim(epoch: number): Promise<EpochClaim | undefined>;
  withdrawClaim(epoch: number, claimantId: string): Promise<void>;
  highestClaim(): Promise<ClaimsOnStore>;
  writeHeartbeat(epoch: number, claimantId: string): Promise<void>;
  claimSilenceMs(epoch: number): Promise<number | undefined>;
  writeWorkerRecord(epoch: number, phase: WorkerPhase, slot: number, body: object): Promise<void>;
  readWorkerRecord(epoch: number, phase: WorkerPhase, slot: number): Promise<Record<string, unknown> | undefined>;
  pruneEpochFiles(keepFrom: number): Promise<void>;

  // Identity and manifest (docs/FORMAT.md §2, §3)
  readManifest(): Promise<MetadataRead<Manifest>>;
  writeManifest(manifest: Manifest): Promise<void>;
  readIdentity(): Promise<MetadataRead<StoreIdentity>>;
  writeIdentity(identity: StoreIdentity): Promise<void>;
  /** Claims the directory for a new store: fails with EEXIST if it already holds one. */
  publishIdentity(identity: StoreIdentity): Promise<void>;
  /** Undoes an init that failed part-way: only the identity and manifest it wrote. */
  removeMarkers(): Promise<void>;
  probe(options: { writeProbe: boolean }): Promise<DirectoryProbe>;

  // Announcements of running commands (docs/FORMAT.md §6)
  writeIntent(kind: IntentKind, id: string, intent: WriterIntent | ReaderIntent): Promise<void>;
  removeIntent(kind: IntentKind, id: string): Promise<void>;
  readWriterIntents(): Promise<WriterIntent[]>;
  readReaderIntents(): Promise<ReaderIntent[]>;
  removeDeadIntents(silentForMs: number): Promise<number>;
  prepareIntentDirectories(): Promise<void>;

  // Housekeeping and durability
  removeStaleTempFiles(olderThanMs: number): Promise<number>;
  /** Makes every block and record written so far durable (their directory entries fsynced). */
  flush(): Promise<void>;
}

/** Every method a Store answers, by name: what a transport may carry to a store elsewhere. */
export const STORE_METHODS = [
  'writeBlock', 'readBlock', 'verifyBlock', 'readBlockHeader', 'listFileBlocks', 'removeBlock', 'removeFileBlocks',
  'collectOlderBlocks', 'sweepMisplacedBlocks', 'scan',
  'writeCatalogRecord', 'writeCatalogRecords', 'scanCatalog', 'listRecordVersions', 'listRecordVersionsOf',
  'removeCatalogRecord', 'compactCatalog', 'settledCatalogBucket', 'readSettledSegment', 'adoptSettledSegments', 'writeScrubLog', 'readScrubLogs', 'removeScrubLogs',
  'writeStoreFault', 'readStoreFaults', 'removeStoreFault',
  'createClaim', 'readClaim', 'withdrawClaim', 'highestClaim', 'writeHeartbeat', 'claimSilenceMs', 'writeWorkerRecord',
  'readWorkerRecord', 'pruneEpochFiles',
  'readManifest', 'writeManifest', 'readIdentity', 'writeIdentity', 'publishIdentity', 'removeMarkers', 'probe',
  'writeIntent', 'removeIntent', 'readWriterIntents', 'readReaderIntents', 'removeDeadIntents', 'prepareIntentDirectories',
  'removeStaleTempFiles', 'flush',
] as const satisfies readonly (keyof Store)[];

export type StoreMethod = (typeof STORE_METHODS)[number];

export function isStoreMethod(name: unknown): name is StoreMethod {
  return typeof name === 'string' && (STORE_METHODS as readonly string[]).includes(name);
}

/** Runs a call that arrived over a transport on the store it names (the receiving side of RemoteStore). */
export function callStore(store: Store, method: StoreMethod, args: readonly unknown[]): Promise<unknown> {
  const fn = store[method] as (...a: unknown[]) => Promise<unknown>;
  return fn.apply(store, [...args]);
}
