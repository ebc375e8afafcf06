import { datasetSequence, type CatalogRecord } from '../format/catalog-record.js';
import { placeDataset } from '../format/placement.js';

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
  /**
   * The catalog's CRC-32 of this data set's file bytes, the arbiter of which blocks to believe
   * (arbiter.ts); undefined when the record carries none.
   */
  readonly dataChecksum?: number;
  /**
   * In a check: the stores' scans found this file's blocks at this one sequence only, so a data
   * set whose blocks all read good needs no directory listing (nothing stale, newer or to collect).
   */
  readonly soleSequence?: boolean;
}

/** The parts of a catalog record a data set ref is made from (a check's plan carries no more). */
export type RefSource = Pick<CatalogRecord, 'name' | 'fileId' | 'sequence' | 'datasetSequences' | 'fileSizeBytes' | 'k' | 'm' | 'blockSizeBytes' | 'datasetCount'>
  & { readonly datasetChecksums?: readonly number[] };

/**
 * The one way to make a DatasetRef: data set d of the version `record` describes, in the pool
 * `poolId` whose store slots are `poolSlots` (placement ranks over those, never over who is up).
 */
export function makeDatasetRef(poolId: string, record: RefSource, datasetIndex: number, poolSlots: readonly number[], soleSequence?: boolean): DatasetRef {
  const checksums = record.datasetChecksums;
  // 0 is what earlier rain versions wrote where a checksum was unknown; a real data set has
  // checksum 0 with probability 2^-32, and is then merely not checked by it.
  const dataChecksum = checksums && checksums.length === record.datasetCount && checksums[datasetIndex] !== 0 ? checksums[datasetIndex] : undefined;
  return {
    poolId,
    name: record.name,
    fileId: record.fileId,
    sequence: datasetSequence(record, datasetIndex),
    fileSizeBytes: record.fileSizeBytes,
    k: record.k,
    m: record.m,
    blockSizeBytes: record.blockSizeBytes,
    datasetIndex,
    datasetCount: record.datasetCount,
    placement: placeDataset(record.fileId, datasetIndex, poolSlots, record.k + record.m),
    ...(dataChecksum === undefined ? {} : { dataChecksum }),
    ...(soleSequence === undefined ? {} : { soleSequence }),
  };
}
