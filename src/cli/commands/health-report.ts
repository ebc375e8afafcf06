import type { PoolHealthReport } from '../../ops/verify-pool.js';
import type { Output } from '../output.js';
import { formatBytes } from '../output.js';

/** The human rendering shared by verify and rebuild: problem files in full, healthy ones counted. */
export function printHealth(out: Output, report: PoolHealthReport): void {
  for (const problem of report.storeProblems) out.line(out.color.yellow(`! ${problem}`));
  for (const problem of report.metadataProblems) out.line(out.color.yellow(`! ${problem}`));
  const troubled = report.files.filter((f) => f.state !== 'healthy' || f.repairedBlocks > 0);
  if (troubled.length > 0) {
    out.table(['name', 'size', 'state', 'good', 'missing', 'corrupt', 'stale', 'repaired'], troubled.map((f) => [
      f.name, formatBytes(f.sizeBytes), f.state === 'lost' ? out.color.red(f.state) : f.state === 'degraded' ? out.color.yellow(f.state) : out.color.green(f.state),
      f.blocks.good, f.blocks.missing, f.blocks.corrupt, f.blocks.stale, f.repairedBlocks,
    ]));
    for (const f of troubled) for (const detail of f.details) out.line(`  ${f.name}: ${detail}`);
  }
  const count = (state: string) => report.files.filter((f) => f.state === state).length;
  if (report.orphanFiles > 0) out.line(`${report.orphanFiles} orphaned block sets (from interrupted puts) are not in the catalog; 'rain check' collects them`);
  for (const f of report.files) {
    if (f.newerBlocks > 0) out.line(`${f.name}: ${f.newerBlocks} blocks of a newer, unfinished update (a write in progress, or one 'rain check' will finish or undo)`);
  }
  out.line(`${report.files.length} files: ${count('healthy')} healthy, ${count('degraded')} degraded, ${count('lost')} lost`);
  const paint = report.verdict === 'healthy' ? out.color.green : report.verdict === 'degraded' ? out.color.yellow : out.color.red;
  out.line(`pool ${report.poolName}: ${paint(report.verdict)}`);
}
