import type { FileHealth } from '../../dataset/file-health.js';
import type { Output } from '../output.js';
import { formatBytes } from '../output.js';

/**
 * How many troubled files a human report lists. After a lost disk every file of a big pool is
 * degraded, and a line per file made a report of 100,000 lines for cron to mail; `--json` still
 * lists every file.
 */
export const LISTED_TROUBLED_FILES = 100;

const SEVERITY: Record<FileHealth['state'], number> = { lost: 0, degraded: 1, healthy: 2, superseded: 3 };

/**
 * The table of files that are lost, degraded or were repaired, worst first (a lost file must not
 * hide behind a hundred degraded ones), then each listed file's detail lines, then what was left out.
 */
export function printTroubledFiles(out: Output, files: readonly FileHealth[]): void {
  const troubled = files.filter((f) => (f.state !== 'healthy' && f.state !== 'superseded') || f.repairedBlocks > 0);
  if (troubled.length === 0) return;
  const listed = troubled.sort((a, b) => SEVERITY[a.state] - SEVERITY[b.state]).slice(0, LISTED_TROUBLED_FILES);
  out.table(['name', 'size', 'state', 'good', 'missing', 'corrupt', 'stale', 'repaired'], listed.map((f) => [
    f.name, formatBytes(f.sizeBytes), f.state === 'lost' ? out.color.red(f.state) : f.state === 'degraded' ? out.color.yellow(f.state) : out.color.green(f.state),
    f.blocks.good, f.blocks.missing, f.blocks.corrupt, f.blocks.stale, f.repairedBlocks,
  ]));
  for (const f of listed) for (const detail of f.details) out.line(`  ${f.name}: ${detail}`);
  const left = troubled.slice(listed.length);
  if (left.length > 0) {
    const count = (state: FileHealth['state']) => left.filter((f) => f.state === state).length;
    out.line(`... and ${left.length} more troubled files (${count('lost')} lost, ${count('degraded')} degraded, ${count('healthy')} repaired); --json lists every file`);
  }
}
