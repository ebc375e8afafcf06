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
import type { Store, StoreMethod } from './store.js';
import type { IntentKind, ReaderIntent, WriterIntent } from './writer-intents.js';

/**
 * How a call reaches a store this process cannot reach itself, supplied by cluster/: a worker
 * relays through its coordinator, the coordinator sends it over ssh to the store's own worker,
 * which runs it on its LocalStore (store.ts, callStore). Arguments and results are structured-
 * cloned (bigint and byte arrays cross intact); a failure arrives as an Error rebuilt from its
 * wire form (rain-error.ts), errno and kind included.
 */
export interface StoreTransport {
  call(location: string, method: StoreMethod, args: readonly unknown[]): Promise<unknown>;
}

/**
 * A store reached through a transport. Every method is one call; the store's batch of directory
 * fsyncs lives with the store on the far side, and flush() is one call that makes it durable.
 * Only bytes that must cross do: a block to write or read, never a buffer to read into.
 */
export class RemoteStore implements Store {
  readonly remote = true;
  /** Blocks or records were written since the last flush (a flush of nothing costs no round trip). */
  private dirty = false;

  constructor(readonly location: string, private readonly transport: StoreTransport) {}

  private call<T>(method: StoreMethod, ...args: unknown[]): Promise<T> {
    return this.transport.call(this.location, method, args) as Promise<T>;
  }

  writeBlock(header: BlockHeaderInput, payload: Uint8Array): Promise<number> {
    this.dirty = true;
    return this.call('writeBlock', header, payload);
  }

  /** The block arrives as a fresh array; a caller that lent a buffer gets its bytes there. */
  async readBlock(expected: ExpectedBlock, into?: Buffer): Promise<BlockReadResult> {
    const result = await this.call<BlockReadResult>('readBlock', expected);
    if (result.status !== 'good') return result;
    const arrived = result.payload as Uint8Array;
    if (into && into.length >= arrived.length) {
      into.set(arrived);
      return { ...result, payload: into.subarray(0, arrived.length) };
    }
    return { ...result, payload: Buffer.from(arrived.buffer, arrived.byteOffset, arrived.byteLength) };
  }

  verifyBlock(expected: ExpectedBlock): Promise<BlockVerdictOnly> {
    return this.call('verifyBlock', expected);
  }

  readBlockHeader(fileId: string, key: BlockFileKey): Promise<BlockHeader | undefined> {
    return this.call('readBlockHeader', fileId, key);
  }

  listFileBlocks(fileId: string): Promise<BlockFileKey[]> {
    return this.call('listFileBlocks', fileId);
  }

  removeBlock(fileId: string, key: BlockFileKey): Promise<void> {
    return this.call('removeBlock', fileId, key);
  }

  removeFileBlocks(fileId: string, sequence: bigint, which: 'older' | 'exactly'): Promise<number> {
    return this.call('removeFileBlocks', fileId, sequence, which);
  }

  collectOlderBlocks(fileId: string, sequence: bigint, datasetSequences: readonly bigint[]): Promise<number> {
    return this.call('collectOlderBlocks', fileId, sequence, datasetSequences);
  }

  sweepMisplacedBlocks(fileId: string, sequence: bigint, placedHere: readonly number[]): Promise<number> {
    return this.call('sweepMisplacedBlocks', fileId, sequence, placedHere);
  }

  scan(options: ScanOptions): Promise<StoreScan> {
    return this.call('scan', options);
  }

  writeCatalogRecord(record: CatalogRecord): Promise<void> {
    this.dirty = true;
    return this.call('writeCatalogRecord', record);
  }

  writeCatalogRecords(records: readonly CatalogRecord[]): Promise<void> {
    this.dirty = true;
    return this.call('writeCatalogRecords', records);
  }

  compactCatalog(buckets: readonly string[] | undefined, drop: readonly { name: string; sequence: bigint }[]): Promise<CatalogCompaction> {
    return this.call('compactCatalog', buckets, drop);
  }

  settledCatalogBucket(bucket: string): Promise<SettledBucket | 'empty' | undefined> {
    return this.call('settledCatalogBucket', bucket);
  }

  async readSettledSegment(bucket: string, id: string): Promise<Buffer | undefined> {
    const arrived: Uint8Array | undefined = await this.call('readSettledSegment', bucket, id);
    return arrived === undefined ? undefined : Buffer.from(arrived.buffer, arrived.byteOffset, arrived.byteLength);
  }

  adoptSettledSegments(bucket: string, segments: readonly { readonly id: string; readonly bytes: Uint8Array }[]): Promise<boolean> {
    return this.call('adoptSettledSegments', bucket, segments);
  }

  writeScrubLog(text: string): Promise<string> {
    return this.call('writeScrubLog', text);
  }

  readScrubLogs(): Promise<ScrubLogFile[]> {
    return this.call('readScrubLogs');
  }

  removeScrubLogs(files: readonly string[]): Promise<void> {
    return this.call('removeScrubLogs', files);
  }

  writeStoreFault(note: StoreFaultNote): Promise<void> {
    return this.call('writeStoreFault', note);
  }

  readStoreFaults(): Promise<StoreFaultNote[]> {
    return this.call('readStoreFaults');
  }

  removeStoreFault(slot: number, upToMs: number): Promise<void> {
    return this.call('removeStoreFault', slot, upToMs);
  }

  scanCatalog(only?: CatalogScope, newerThan?: ReadonlyMap<string, bigint>, skipSegments?: ReadonlySet<string>): Promise<CatalogScan> {
    return this.call('scanCatalog', only, newerThan, skipSegments);
  }

  listRecordVersions(name: string): Promise<bigint[]> {
    return this.call('listRecordVersions', name);
  }

  listRecordVersionsOf(names: readonly string[]): Promise<Map<string, bigint[]>> {
    return this.call('listRecordVersionsOf', names);
  }

  removeCatalogRecord(name: string, sequence: bigint): Promise<void> {
    return this.call('removeCatalogRecord', name, sequence);
  }

  createClaim(claim: EpochClaim): Promise<boolean> {
    return this.call('createClaim', claim);
  }

  readClaim(epoch: number): Promise<EpochClaim | undefined> {
    return this.call('readClaim', epoch);
  }

  withdrawClaim(epoch: number, claimantId: string): Promise<void> {
    return this.call('withdrawClaim', epoch, claimantId);
  }

  highestClaim(): Promise<ClaimsOnStore> {
    return this.call('highestClaim');
  }

  writeHeartbeat(epoch: number, claimantId: string): Promise<void> {
    return this.call('writeHeartbeat', epoch, claimantId);
  }

  claimSilenceMs(epoch: number): Promise<number | undefined> {
    return this.call('claimSilenceMs', epoch);
  }

  writeWorkerRecord(epoch: number, phase: WorkerPhase, slot: number, body: object): Promise<void> {
    return this.call('writeWorkerRecord', epoch, phase, slot, body);
  }

  readWorkerRecord(epoch: number, phase: WorkerPhase, slot: number): Promise<Record<string, unknown> | undefined> {
    return this.call('readWorkerRecord', epoch, phase, slot);
  }

  pruneEpochFiles(keepFrom: number): Promise<void> {
    return this.call('pruneEpochFiles', keepFrom);
  }

  readManifest(): Promise<MetadataRead<Manifest>> {
    return this.call('readManifest');
  }

  writeManifest(manifest: Manifest): Promise<void> {
    return this.call('writeManifest', manifest);
  }

  readIdentity(): Promise<MetadataRead<StoreIdentity>> {
    return this.call('readIdentity');
  }

  writeIdentity(identity: StoreIdentity): Promise<void> {
    return this.call('writeIdentity', identity);
  }

  publishIdentity(identity: StoreIdentity): Promise<void> {
    return this.call('publishIdentity', identity);
  }

  removeMarkers(): Promise<void> {
    return this.call('removeMarkers');
  }

  probe(options: { writeProbe: boolean }): Promise<DirectoryProbe> {
    return this.call('probe', options);
  }

  writeIntent(kind: IntentKind, id: string, intent: WriterIntent | ReaderIntent): Promise<void> {
    return this.call('writeIntent', kind, id, intent);
  }

  removeIntent(kind: IntentKind, id: string): Promise<void> {
    return this.call('removeIntent', kind, id);
  }

  readWriterIntents(): Promise<WriterIntent[]> {
    return this.call('readWriterIntents');
  }

  readReaderIntents(): Promise<ReaderIntent[]> {
    return this.call('readReaderIntents');
  }

  removeDeadIntents(silentForMs: number): Promise<number> {
    return this.call('removeDeadIntents', silentForMs);
  }

  prepareIntentDirectories(): Promise<void> {
    return this.call('prepareIntentDirectories');
  }

  removeStaleTempFiles(olderThanMs: number): Promise<number> {
    return this.call('removeStaleTempFiles', olderThanMs);
  }

  async flush(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      await this.call('flush');
    } catch (error) {
      this.dirty = true;
      throw error;
    }
  }
}
