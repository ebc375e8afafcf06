/** Limits of the on-disk format (docs/FORMAT.md); checked at `init` and whenever a manifest is read. */
export const MIN_DATA_BLOCKS = 1;
export const MIN_PARITY_BLOCKS = 1;
/** GF(2^8) Cauchy rows and columns must be distinct field elements; 255 keeps block indexes in a byte. */
export const MAX_BLOCKS_PER_DATA_SET = 255;
export const MIN_BLOCK_SIZE_BYTES = 4096;
export const MAX_BLOCK_SIZE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_BLOCK_SIZE_BYTES = 1024 * 1024;
/** Shards are padded to this so vector kernels never need a scalar tail inside a data set. */
export const SHARD_ALIGNMENT_BYTES = 16;
export const MAX_NAME_BYTES = 1024;
/** A block header holds a data set's length in 32 bits (docs/FORMAT.md §5). */
export const MAX_DATASET_SPAN_BYTES = 2 ** 32 - 1;

export function checkGeometry(k: number, m: number, blockSizeBytes: number): string | undefined {
  if (!Number.isInteger(k) || k < MIN_DATA_BLOCKS) return `k must be an integer >= ${MIN_DATA_BLOCKS} (got ${k})`;
  if (!Number.isInteger(m) || m < MIN_PARITY_BLOCKS) return `m must be an integer >= ${MIN_PARITY_BLOCKS} (got ${m})`;
  if (k + m > MAX_BLOCKS_PER_DATA_SET) return `k + m must be at most ${MAX_BLOCKS_PER_DATA_SET} (got ${k + m})`;
  if (!Number.isInteger(blockSizeBytes) || blockSizeBytes < MIN_BLOCK_SIZE_BYTES || blockSizeBytes > MAX_BLOCK_SIZE_BYTES) {
    return `block size must be between ${MIN_BLOCK_SIZE_BYTES} and ${MAX_BLOCK_SIZE_BYTES} bytes (got ${blockSizeBytes})`;
  }
  if (blockSizeBytes % SHARD_ALIGNMENT_BYTES !== 0) return `block size must be a multiple of ${SHARD_ALIGNMENT_BYTES} bytes`;
  return undefined;
}

/**
 * What `init` refuses beyond checkGeometry: a data set (k blocks) longer than its header can say.
 * Not checked when a manifest is read, so a pool made before the check still opens (its files
 * shorter than 4 GiB were written correctly; a longer one never could be).
 */
export function checkNewPoolGeometry(k: number, m: number, blockSizeBytes: number): string | undefined {
  const problem = checkGeometry(k, m, blockSizeBytes);
  if (problem) return problem;
  if (k * blockSizeBytes > MAX_DATASET_SPAN_BYTES) {
    return `k x block size must be under 4 GiB (got ${k} x ${blockSizeBytes} bytes): use a smaller block size or fewer data blocks`;
  }
  return undefined;
}
