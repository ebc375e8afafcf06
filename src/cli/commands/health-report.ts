import type { PoolHealthReport } from '../../ops/verify-pool.js';
import type { Output } from '../output.js';
import { printTroubledFiles } from './troubled-files.js';

/** The human rendering of verify: problem files listed (the worst first, up to a limit), healthy ones counted. */
export function printHealth(out: Output, report: PoolHealthReport): void {
  for (const problem of report.storeProblems) out.line(out.color.yellow(`! ${problem}`));
  for (const problem of report.metadataProblems) out.line(out.color.yellow(`! ${problem}`));
  printTroubledFiles(out, report.files);
  const count = (state: string) => report.files.filter((f) => f.state === state).length;
  if (report.orphanFiles > 0) out.line(`${report.orphanFiles} orphaned block sets (from interrupted puts) are not in the catalog; 'rain check' collects them`);
  for (const f of report.files) {
    if (f.newerBlocks > 0) out.line(`${f.name}: ${f.newerBlocks} blocks of a newer, unfinished update (a write in progress, or one 'rain check' will finish or undo)`);
  }
  out.line(`${report.files.length} files: ${count('healthy')} healthy, ${count('degraded')} degraded, ${count('lost')} lost`);
  const paint = report.verdict === 'healthy' ? out.color.green : report.verdict === 'degraded' ? out.color.yellow : out.color.red;
  out.line(`pool ${report.poolName}: ${paint(report.verdict)}`);
}
