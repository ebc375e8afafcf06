import type { FileHealth } from '../../dataset/file-health.js';
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

const SEVERITY: Record<FileHealth['state'], number> = { lost: 0, degraded: 1, healthy: 2, superseded: 3 };

/**
 * The table of files that are lost, degraded or were repaired, worst first (a lost file must not
 * hide behind a hundred degraded ones), then the listed files' detail lines, then what was left out.
 * In a summary, details a store line already says are left out.
 */
export function printTroubledFiles(out: Output, files: readonly FileHealth[], stores: readonly StoreReportEntry[] = []): void {
  const troubled = files.filter((f) => (f.state !== 'healthy' && f.state !== 'superseded') || f.repairedBlocks > 0);
  if (troubled.length === 0) return;
  const sorted = [...troubled].sort((a, b) => SEVERITY[a.state] - SEVERITY[b.state]);
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
  const left = sorted.slice(listed.length);
  if (left.length > 0) {
    const count = (state: FileHealth['state']) => left.filter((f) => f.state === state).length;
    out.line(`... and ${left.length} more troubled files (${count('lost')} lost, ${count('degraded')} degraded, ${count('healthy')} repaired); --verbose or --json lists every file`);
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
