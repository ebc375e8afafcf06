import type { FileHealth } from '../../dataset/file-health.js';
import { isTroubled, worstFirst, type HealthSummary } from '../../dataset/health-tally.js';
import type { StoreReportEntry } from '../../ops/store-problem.js';
import type { Output } from '../output.js';
import { formatBytes } from '../output.js';

/**
 * How many troubled files a summary lists. After a lost disk every file of a big pool is
 * degraded, and a line per file made a report of 100,000 lines for cron to mail: the store lines
 * say what is wrong, a handful of files shows what it looks like, and `--verbose` or `--json`
 * lists every file.
 */
export const LISTED_TROUBLED_FILES = 10;

/** Detail lines shown per listed file in a summary (--verbose shows all the report has). */
const DETAILS_PER_FILE = 2;

/**
 * The table of files that are lost, degraded or were repaired, worst first (a lost file must not
 * hide behind a hundred degraded ones), then the listed files' detail lines, then what was left
 * out. `files` are the files the report kept (all, or only the worst few: a verify's summary
 * keeps LISTED_TROUBLED_FILES), `summary` counts every file checked. In a summary, details a store
 * line already says are left out.
 */
export function printTroubledFiles(out: Output, files: readonly FileHealth[], summary: HealthSummary, stores: readonly StoreReportEntry[] = []): void {
  const sorted = files.filter(isTroubled).sort(worstFirst);
  if (sorted.length === 0) return;
  const listed = out.verbose ? sorted : sorted.slice(0, LISTED_TROUBLED_FILES);
  out.table(['name', 'size', 'state', 'good', 'missing', 'corrupt', 'stale', 'repaired'], listed.map((f) => [
    f.name, formatBytes(f.sizeBytes), f.state === 'lost' ? out.color.red(f.state) : f.state === 'degraded' ? out.color.yellow(f.state) : out.color.green(f.state),
    f.blocks.good, f.blocks.missing, f.blocks.corrupt, f.blocks.stale, f.repairedBlocks,
  ]));
  const down = new Set(stores.filter((s) => s.condition !== 'online').map((s) => s.slot));
  for (const f of listed) {
    const details = out.verbose ? f.details : f.details.filter((d) => !saidByStoreLine(d, down)).slice(0, DETAILS_PER_FILE);
    for (const detail of details) out.line(`  ${f.name}: ${detail}`);
  }
  const left = (state: FileHealth['state']) => summary.troubled[state] - listed.filter((f) => f.state === state).length;
  const leftInAll = (['lost', 'degraded', 'healthy', 'superseded'] as const).reduce((sum, state) => sum + left(state), 0);
  if (leftInAll > 0) {
    out.line(`... and ${leftInAll} more troubled files (${left('lost')} lost, ${left('degraded')} degraded, ${left('healthy')} repaired); --verbose or --json lists every file`);
  }
}

/**
 * Details a summary leaves out because a store line says it already: a block missing or stale on
 * a store (counted there; a corrupt block's detail names why, so it stays), and a block not
 * repaired because its store is down.
 */
function saidByStoreLine(detail: string, down: ReadonlySet<number>): boolean {
  if (/on store \d+: (missing|stale)$/.test(detail)) return true;
  const match = /not repaired \(store (\d+) is /.exec(detail);
  return match !== null && down.has(Number(match[1]));
}
