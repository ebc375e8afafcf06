import { compareVersions, type CatalogRecord } from '../format/catalog-record.js';
import { DataLostError } from '../rain-error.js';

/**
 * A concurrent put may commit a newer version of a file and collect the blocks a read is using;
 * the read then fails as data lost. It starts over on the newer version (never mixing the two),
 * this many attempts in all, before the loss is believed.
 */
export const READ_ATTEMPTS = 3;

/** Worth a catalog look: a data-lost failure with attempts left. */
export function mayBeSuperseded(error: unknown, attempt: number): boolean {
  return error instanceof DataLostError && attempt < READ_ATTEMPTS;
}

/**
 * The catalog now holds another version of the file than the one read (or none), or the same
 * version moved into another pack by a repack (docs/FORMAT.md §5.1), whose old pack may be gone.
 */
export function isSuperseded(read: CatalogRecord, current: CatalogRecord | undefined): boolean {
  return current === undefined || compareVersions(current, read) !== 0;
}
