import { SHARD_ALIGNMENT_BYTES } from './pool-limits.js';

/**
 * How a file of `fileSizeBytes` is cut into data sets: each data set covers k * blockSizeBytes of
 * the file, except the last, whose shards shrink to the smallest 16-byte multiple that holds its
 * bytes (so a 10-byte file costs (k+m) * 16 bytes of payload, not (k+m) MiB).
 */
export interface FileGeometry {
  readonly fileSizeBytes: number;
  readonly k: number;
  readonly blockSizeBytes: number;
}

export interface DatasetExtent {
  readonly datasetIndex: number;
  readonly fileOffsetBytes: number;
  readonly dataBytes: number;
  readonly shardBytes: number;
}

export function datasetCountOf(g: FileGeometry): number {
  return Math.ceil(g.fileSizeBytes / (g.k * g.blockSizeBytes));
}

export function datasetExtent(g: FileGeometry, datasetIndex: number): DatasetExtent {
  const count = datasetCountOf(g);
  if (!Number.isInteger(datasetIndex) || datasetIndex < 0 || datasetIndex >= count) {
    throw new RangeError(`data set ${datasetIndex} out of range 0..${count - 1}`);
  }
  const datasetBytes = g.k * g.blockSizeBytes;
  const fileOffsetBytes = datasetIndex * datasetBytes;
  const dataBytes = Math.min(datasetBytes, g.fileSizeBytes - fileOffsetBytes);
  const shardBytes = dataBytes === datasetBytes ? g.blockSizeBytes : alignUp(Math.ceil(dataBytes / g.k));
  return { datasetIndex, fileOffsetBytes, dataBytes, shardBytes };
}

function alignUp(bytes: number): number {
  return Math.max(SHARD_ALIGNMENT_BYTES, Math.ceil(bytes / SHARD_ALIGNMENT_BYTES) * SHARD_ALIGNMENT_BYTES);
}
