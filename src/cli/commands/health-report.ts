import type { PoolHealthReport } from '../../ops/verify-pool.js';
import type { Output } from '../output.js';
import { nextStepLine, storeLines } from '../store-lines.js';
import { printTroubledFiles } from './troubled-files.js';

/** Files listed by name with blocks of a newer, unfinished update, in a summary. */
export const LISTED_NEWER = 10;

/**
 * The human rendering of verify: a line per store in trouble (cause and next step), the worst
 * files (all of them with --verbose), counts, the verdict and what to do. With --quiet only the
 * problems are printed, and nothing when the pool is healthy.
 */
export function printHealth(out: Output, report: PoolHealthReport): void {
  const summary = report.summary;
  for (const line of storeLines(report.stores, summary.byStore, false)) out.alert(out.color.yellow(line));
  for (const problem of report.metadataProblems) out.alert(out.color.yellow(`! ${problem}`));
  printTroubledFiles(out, report.files, summary, report.stores);
  if (report.orphanFiles > 0) out.line(`${report.orphanFiles} orphaned block sets (from interrupted puts) are not in the catalog; 'rain check' collects them`);
  const newer = report.files.filter((f) => f.newerBlocks > 0);
  const listedNewer = out.verbose ? newer : newer.slice(0, LISTED_NEWER);
  for (const f of listedNewer) {
    out.line(`${f.name}: ${f.newerBlocks} blocks of a newer, unfinished update (a write in progress, or one 'rain check' will finish or undo)`);
  }
  if (summary.newerFiles > listedNewer.length) out.line(`... and ${summary.newerFiles - listedNewer.length} more files with blocks of a newer, unfinished update`);
  out.line(`${summary.files} files: ${summary.states.healthy} healthy, ${summary.states.degraded} degraded, ${summary.states.lost} lost`);
  const paint = report.verdict === 'healthy' ? out.color.green : report.verdict === 'degraded' ? out.color.yellow : out.color.red;
  const verdict = `pool ${report.poolName}: ${paint(report.verdict)}${report.verdict === 'lost' ? ` (${summary.states.lost} files lost)` : ''}`;
  if (report.verdict === 'healthy') out.line(verdict);
  else out.alert(verdict);
  const next = nextStepLine(report.verdict, report.stores, false);
  if (next) out.alert(next);
}
