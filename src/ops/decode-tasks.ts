import type { DecodeResult, DecodeSink } from '../cluster/protocol.js';
import type { DatasetTask } from '../cluster/worker-cluster.js';
import { packRecordOf, type CatalogRecord, type PackRef } from '../format/catalog-record.js';
import type { PoolSession } from './pool-session.js';

export interface BadBlock {
  readonly datasetIndex: number;
  readonly blockIndex: number;
  readonly slot: number;
  readonly status: string;
  readonly detail?: string;
}

/** One decode task per data set of `record`, for WorkerCluster.runDatasets. */
export function* decodeTasks(
  session: PoolSession, record: CatalogRecord, sink: DecodeSink,
  done: (result: DecodeResult) => void | Promise<void>, failed?: (error: unknown) => void,
): Generator<DatasetTask<DecodeResult>> {
  if (record.pack) {
    yield packDecodeTask(session, [{ record, sink }], done, failed);
    return;
  }
  for (let d = 0; d < record.datasetCount; d++) {
    yield { fileId: record.fileId, datasetIndex: d, request: { op: 'decode', ref: session.datasetRef(record, d), sink }, done, failed };
  }
}

/**
 * One decode of a pack's data set for packed files in it (docs/FORMAT.md §5.1), each written to its
 * own sink: a get -r reads a pack once for all the files it wants from it.
 */
export function packDecodeTask(
  session: PoolSession, members: readonly { record: CatalogRecord; sink: DecodeSink }[],
  done: (result: DecodeResult) => void | Promise<void>, failed?: (error: unknown) => void,
): DatasetTask<DecodeResult> {
  const pack = packRecordOf(members[0].record);
  const slices = members.map(({ record, sink }) => {
    const ref = record.pack as PackRef;
    return { offsetBytes: ref.offsetBytes, lengthBytes: record.fileSizeBytes, checksum: ref.fileChecksum, sink };
  });
  return { fileId: pack.fileId, datasetIndex: 0, request: { op: 'decode', ref: session.datasetRef(pack, 0), sink: members[0].sink, slices }, done, failed };
}

/** Packs by id and sequence: the files of one batch that one decode serves. */
export function packKey(record: CatalogRecord): string | undefined {
  return record.pack ? `${record.pack.fileId}@${record.pack.sequence}` : undefined;
}

/** What the decodes of one file found: data sets rebuilt from parity and the blocks that were missing or bad (M8). */
export class DecodeTally {
  reconstructedDatasets = 0;
  readonly badBlocks: BadBlock[] = [];

  add(result: DecodeResult): void {
    if (result.reconstructed.length > 0) this.reconstructedDatasets++;
    for (const bad of result.badBlocks) this.badBlocks.push({ datasetIndex: result.datasetIndex, ...bad });
  }
}
