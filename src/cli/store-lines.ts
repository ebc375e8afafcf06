import type { StoreFileCounts } from '../dataset/health-tally.js';
import { nextStepForStore, storeCause, type StoreReportEntry } from '../ops/store-problem.js';

/**
 * One line per store that is not online or has bad blocks: its state and cause in words, how
 * many files it touches, and what to do ("store 1 (/mnt/d2): missing, directory not found;
 * missing blocks in 180 files, not repaired in 180 files; next: mount its disk or ..."). A store
 * that vanished costs one line however many files had blocks there. `byStore`: how many files
 * have blocks in each state on each store (HealthSummary.byStore).
 */
export function storeLines(stores: readonly StoreReportEntry[], byStore: Readonly<Record<string, StoreFileCounts>>, repairRan: boolean): string[] {
  const lines: string[] = [];
  for (const store of stores) {
    const counts = byStore[store.slot] as StoreFileCounts | undefined;
    const bad = counts ? counts.missing + counts.corrupt + counts.stale : 0;
    if (store.condition === 'online' && bad === 0) continue;
    const parts: string[] = [];
    if (counts) {
      for (const state of ['missing', 'corrupt', 'stale'] as const) if (counts[state] > 0) parts.push(`${state} blocks in ${countFiles(counts[state])}`);
      if (repairRan && counts.repaired > 0) parts.push(`repaired in ${countFiles(counts.repaired)}`);
      if (repairRan && counts.unrepaired > 0) parts.push(`not repaired in ${countFiles(counts.unrepaired)}`);
    }
    const state = store.condition === 'online' ? 'online' : `${store.condition}, ${storeCause(store)}`;
    const next = store.condition !== 'online'
      ? nextStepForStore(store)
      : repairRan ? (counts && counts.unrepaired > 0 ? `run 'rain verify' to see what is still wrong, then 'rain rebuild'` : '') : `run 'rain rebuild' to rewrite them`;
    lines.push(`store ${store.slot} (${store.path}): ${state}${parts.length > 0 ? `; ${parts.join(', ')}` : ''}${next ? `; next: ${next}` : ''}`);
  }
  return lines;
}

/** The step to take after a report whose verdict is not healthy, in one line (undefined when there is none). */
export function nextStepLine(verdict: string, stores: readonly StoreReportEntry[], repairRan: boolean): string | undefined {
  const down = stores.some((s) => s.condition !== 'online');
  if (verdict === 'lost' || verdict === 'unavailable') {
    return `next: files marked lost have fewer than k good blocks: bring back the stores listed above if you can, then run 'rain rebuild'; otherwise restore those files from another copy with 'rain put'`;
  }
  if (verdict !== 'degraded') return undefined;
  if (down) return `next: bring back or replace the stores listed above (each line says how), then run 'rain rebuild'`;
  return repairRan
    ? `next: run 'rain verify' to see what is still wrong; 'rain rebuild' retries the repair`
    : `next: run 'rain rebuild' to restore the missing and bad blocks`;
}

function countFiles(count: number): string {
  return `${count} file${count === 1 ? '' : 's'}`;
}
