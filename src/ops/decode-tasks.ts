import type { DecodeResult, DecodeSink } from '../cluster/protocol.js';
import type { DatasetTask } from '../cluster/worker-cluster.js';
import type { CatalogRecord } from '../format/catalog-record.js';
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
  for (let d = 0; d < record.datasetCount; d++) {
    yield { fileId: record.fileId, datasetIndex: d, request: { op: 'decode', ref: session.datasetRef(record, d), sink }, done, failed };
  }
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
