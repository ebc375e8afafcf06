import type { BlockHeader } from '../format/block-header.js';
import type { CatalogRecord } from '../format/catalog-record.js';
import type { Manifest, StoreIdentity } from '../format/manifest.js';
import * as blocks from './block-files.js';
import * as housekeeping from './block-housekeeping.js';
import * as catalog from './catalog-files.js';
import {
  adoptSettledSegments, compactCatalog, settledCatalogBucket, settledSegmentBytes, type CatalogCompaction, type SettledBucket,
} from './catalog-compaction.js';
import { DirectorySync, removeStaleTempFiles } from './durable-file.js';
import * as epochs from './epoch-files.js';
import type { BlockFileKey } from './store-layout.js';
import * as metadata from './store-metadata.js';
import * as probing from './store-probe.js';
import * as scrubLogs from './scrub-files.js';
import * as faultNotes from './fault-files.js';
import type { StoreFaultNote } from '../format/store-fault.js';
import { scanStore, type ScanOptions, type StoreScan } from './store-scan.js';
import type { Store } from './store.js';
import * as intents from './writer-intents.js';

/**
 * A store whose directory this process reaches itself: a local disk, an NFS or SSHFS mount, or,
 * in a worker started on another host, that host's own store. The file layout and everything
 * about reading and writing it are in the modules this delegates to (docs/FORMAT.md); what this
 * class adds is the store's own batch of directory fsyncs: blocks and catalog records written
 * through it are renamed into place at once, and their directories fsynced together at flush(),
 * one journal commit for many files (on another host too: the batch lives where the store is).
 */
export class LocalStore implements Store {
  readonly remote = false;
  private readonly pending = new DirectorySync();

  constructor(readonly location: string, readonly path: string = location) {}

  writeBlock(header: blocks.BlockHeaderInput, payload: Uint8Array): Promise<number> {
    return blocks.writeBlock(this.path, header, payload, this.pending);
  }

  readBlock(expected: blocks.ExpectedBlock, into?: Buffer): Promise<blocks.BlockReadResult> {
    return blocks.readBlock(this.path, expected, into);
  }

  verifyBlock(expected: blocks.ExpectedBlock): Promise<blocks.BlockVerdictOnly> {
    return blocks.verifyBlock(this.path, expected);
  }

  readBlockHeader(fileId: string, key: BlockFileKey): Promise<BlockHeader | undefined> {
    return blocks.readBlockHeader(this.path, fileId, key);
  }

  listFileBlocks(fileId: string): Promise<BlockFileKey[]> {
    return blocks.listFileBlocks(this.path, fileId);
  }

  removeBlock(fileId: string, key: BlockFileKey): Promise<void> {
    return blocks.removeBlock(this.path, fileId, key);
  }

  removeFileBlocks(fileId: string, sequence: bigint, which: 'older' | 'exactly'): Promise<number> {
    return housekeeping.removeFileBlocks(this.path, fileId, sequence, which);
  }

  collectOlderBlocks(fileId: string, sequence: bigint, datasetSequences: readonly bigint[]): Promise<number> {
    return housekeeping.collectOlderBlocks(this.path, fileId, sequence, datasetSequences);
  }

  sweepMisplacedBlocks(fileId: string, sequence: bigint, placedHere: readonly number[]): Promise<number> {
    return housekeeping.sweepMisplacedBlocks(this.path, fileId, sequence, placedHere);
  }

  scan(options: ScanOptions): Promise<StoreScan> {
    return scanStore(this.path, options);
  }

  writeCatalogRecord(record: CatalogRecord): Promise<void> {
    return catalog.writeCatalogRecord(this.path, record, this.pending);
  }

  writeCatalogRecords(records: readonly CatalogRecord[]): Promise<void> {
    return catalog.writeCatalogRecords(this.path, records, this.pending);
  }

  compactCatalog(buckets: readonly string[] | undefined, drop: readonly { name: string; sequence: bigint }[]): Promise<CatalogCompaction> {
    return compactCatalog(this.path, buckets, drop, this.pending);
  }

  async settledCatalogBucket(bucket: string): Promise<SettledBucket | 'empty' | undefined> {
    return settledCatalogBucket(this.path, bucket);
  }

  async readSettledSegment(bucket: string, id: string): Promise<Buffer | undefined> {
    return settledSegmentBytes(this.path, bucket, id);
  }

  adoptSettledSegments(bucket: string, segments: readonly { readonly id: string; readonly bytes: Uint8Array }[]): Promise<boolean> {
    return adoptSettledSegments(this.path, bucket, segments, this.pending);
  }

  scanCatalog(only?: catalog.CatalogScope, newerThan?: ReadonlyMap<string, bigint>, skipSegments?: ReadonlySet<string>): Promise<catalog.CatalogScan> {
    return catalog.scanCatalog(this.path, only, newerThan, skipSegments);
  }

  listRecordVersions(name: string): Promise<bigint[]> {
    return catalog.listRecordVersions(this.path, name);
  }

  listRecordVersionsOf(names: readonly string[]): Promise<Map<string, bigint[]>> {
    return catalog.listRecordVersionsOf(this.path, names);
  }

  removeCatalogRecord(name: string, sequence: bigint): Promise<void> {
    return catalog.removeCatalogRecord(this.path, name, sequence);
  }

  writeScrubLog(text: string): Promise<string> {
    return scrubLogs.writeScrubLog(this.path, text);
  }

  readScrubLogs(): Promise<scrubLogs.ScrubLogFile[]> {
    return scrubLogs.readScrubLogs(this.path);
  }

  removeScrubLogs(files: readonly string[]): Promise<void> {
    return scrubLogs.removeScrubLogs(this.path, files);
  }

  writeStoreFault(note: StoreFaultNote): Promise<void> {
    return faultNotes.writeStoreFault(this.path, note);
  }

  readStoreFaults(): Promise<StoreFaultNote[]> {
    return faultNotes.readStoreFaults(this.path);
  }

  removeStoreFault(slot: number, upToMs: number): Promise<void> {
    return faultNotes.removeStoreFault(this.path, slot, upToMs);
  }

  createClaim(claim: epochs.EpochClaim): Promise<boolean> {
    return epochs.createClaim(this.path, claim);
  }

  readClaim(epoch: number): Promise<epochs.EpochClaim | undefined> {
    return epochs.readClaim(this.path, epoch);
  }

  withdrawClaim(epoch: number, claimantId: string): Promise<void> {
    return epochs.withdrawClaim(this.path, epoch, claimantId);
  }

  highestClaim(): Promise<epochs.ClaimsOnStore> {
    return epochs.highestClaim(this.path);
  }

  writeHeartbeat(epoch: number, claimantId: string): Promise<void> {
    return epochs.writeHeartbeat(this.path, epoch, claimantId);
  }

  claimSilenceMs(epoch: number): Promise<number | undefined> {
    return epochs.claimSilenceMs(this.path, epoch);
  }

  writeWorkerRecord(epoch: number, phase: epochs.WorkerPhase, slot: number, body: object): Promise<void> {
    return epochs.writeWorkerRecord(this.path, epoch, phase, slot, body);
  }

  readWorkerRecord(epoch: number, phase: epochs.WorkerPhase, slot: number): Promise<Record<string, unknown> | undefined> {
    return epochs.readWorkerRecord(this.path, epoch, phase, slot);
  }

  pruneEpochFiles(keepFrom: number): Promise<void> {
    return epochs.pruneEpochFiles(this.path, keepFrom);
  }

  readManifest(): Promise<metadata.MetadataRead<Manifest>> {
    return metadata.readManifest(this.path);
  }

  writeManifest(manifest: Manifest): Promise<void> {
    return metadata.writeManifest(this.path, manifest);
  }

  readIdentity(): Promise<metadata.MetadataRead<StoreIdentity>> {
    return metadata.readStoreIdentity(this.path);
  }

  writeIdentity(identity: StoreIdentity): Promise<void> {
    return metadata.writeStoreIdentity(this.path, identity);
  }

  publishIdentity(identity: StoreIdentity): Promise<void> {
    return metadata.publishStoreIdentity(this.path, identity);
  }

  removeMarkers(): Promise<void> {
    return probing.removeStoreMarkers(this.path);
  }

  probe(options: { writeProbe: boolean }): Promise<probing.DirectoryProbe> {
    return probing.probeDirectory(this.path, options);
  }

  writeIntent(kind: intents.IntentKind, id: string, intent: intents.WriterIntent | intents.ReaderIntent): Promise<void> {
    return intents.writeIntent(this.path, kind, id, intent);
  }

  removeIntent(kind: intents.IntentKind, id: string): Promise<void> {
    return intents.removeIntent(this.path, kind, id);
  }

  readWriterIntents(): Promise<intents.WriterIntent[]> {
    return intents.readIntents(this.path);
  }

  readReaderIntents(): Promise<intents.ReaderIntent[]> {
    return intents.readReaderIntents(this.path);
  }

  removeDeadIntents(silentForMs: number): Promise<number> {
    return intents.removeDeadIntents(this.path, silentForMs);
  }

  prepareIntentDirectories(): Promise<void> {
    return intents.prepareIntentDirectories(this.path);
  }

  removeStaleTempFiles(olderThanMs: number): Promise<number> {
    return removeStaleTempFiles(this.path, olderThanMs);
  }

  flush(): Promise<void> {
    return this.pending.flush();
  }
}
