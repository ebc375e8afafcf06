import type { CatalogRecord } from '../format/catalog-record.js';
import { withSession } from './pool-session.js';
import { repackPacks, type RepackReport } from './repack.js';
import { packsToRepack, packUsage } from './repack-selection.js';

export interface CompactOptions {
  readonly pool?: string;
  /** Report what would be repacked; write nothing. */
  readonly dryRun?: boolean;
}

/**
 * `rain compact`: repacks the packs whose live share fell below the threshold (ops/repack.ts).
 * It needs no lock and no epoch: a moved record keeps its sequence, so a put or rm of a moved
 * name meanwhile wins, and two compacts at once leave one copy referenced (docs/FORMAT.md §5.1).
 */
export async function compactPool(options: CompactOptions): Promise<RepackReport> {
  return withSession(options.pool, 'compact', options.dryRun ? 'read' : 'write', (session) => repackPacks(session, { dryRun: options.dryRun }));
}

/** Whether a catalog's live packed files leave any pack to repack (a check starts compaction only then). */
export function hasPacksToRepack(packedFiles: Iterable<CatalogRecord>): boolean {
  return packsToRepack(packUsage(packedFiles)).length > 0;
}
