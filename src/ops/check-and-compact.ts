import { describeError } from '../rain-error.js';
import { checkPool, type CheckOptions, type CheckReport } from './check-pool.js';
import { compactPool } from './compact-pool.js';
import type { RepackReport } from './repack.js';

export interface CheckAndCompactReport extends Omit<CheckReport, 'repackDue'> {
  /** The repacking run after a full check that left the pool healthy (docs/FORMAT.md §5.1). */
  readonly repack?: RepackReport;
}

/**
 * `rain check`: the check, then, when it left the pool healthy and found packs whose live share
 * is low, their repacking (repairs come first: a degraded pool would write degraded packs). The
 * repack runs after the epoch is committed and takes no lock (ops/compact-pool.ts); its result is
 * one line of housekeeping, and a failed repack a warning there, not a verdict.
 */
export async function checkAndCompact(options: CheckOptions): Promise<CheckAndCompactReport> {
  const { repackDue, ...report } = await checkPool({ ...options, considerRepack: true });
  if (!repackDue) return report;
  const anchor = report.stores.find((s) => s.condition === 'online')?.path ?? options.pool;
  try {
    const repack = await compactPool({ pool: anchor });
    const line = `packs repacked ${repack.packsRepacked}, bytes reclaimed ${repack.bytesReclaimed}`;
    return { ...report, repack, housekeeping: [...report.housekeeping, ...(repack.packsRepacked > 0 ? [line] : []), ...repack.warnings] };
  } catch (error) {
    return { ...report, housekeeping: [...report.housekeeping, `repacking failed, packs left as they are: ${describeError(error)}`] };
  }
}
