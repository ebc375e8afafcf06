/**
 * How a put -r or sync cuts its files into commits. Each commit writes one catalog segment per
 * bucket and store (docs/FORMAT.md §4), so many small files per commit is what makes a tree of
 * small files cost a few catalog files instead of one per file; the byte cap keeps a tree of
 * large files committing (and so making its progress durable) as often as before.
 * 16,384 rather than 4,096 (measured on 50,000 files of 100 B-4 KiB, 4+2, tmpfs): a quarter of
 * the segments, so the first check or rebuild after the put merges and reads fewer files
 * (rebuild 6.4 -> 5.0 s, verify 3.3 -> 2.9 s); the coordinator holds a bigger batch (put -r
 * 175 -> 240 MB peak RSS).
 */
export const MAX_FILES_PER_COMMIT = 16384;
export const MAX_BYTES_PER_COMMIT = 256 * 1024 * 1024;

/** Consecutive slices of `items`, each within both caps (a single larger item is a slice of its own). */
export function commitBatches<T extends { readonly sizeBytes: number }>(items: readonly T[]): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length > 0 && (current.length === MAX_FILES_PER_COMMIT || bytes + item.sizeBytes > MAX_BYTES_PER_COMMIT)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.sizeBytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
