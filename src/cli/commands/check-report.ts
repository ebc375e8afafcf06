import type { CheckReport } from '../../ops/check-pool.js';
import type { Output } from '../output.js';
import { nextStepLine, storeLines } from '../store-lines.js';
import { printTroubledFiles } from './troubled-files.js';

/** Version reports listed in a summary (an interrupted sync can leave thousands; --verbose lists all). */
const LISTED_VERSIONS = 10;

/**
 * Human rendering of the initialization protocol's result, shared by check and rebuild: what was
 * done, a line per store in trouble (cause and next step), the worst files, counts and the
 * verdict. The per-worker table and every file's details come with --verbose. With --quiet only
 * the problems are printed, and nothing when the pool is healthy.
 */
export function printCheckReport(out: Output, report: CheckReport): void {
  if (report.ranBy) {
    out.line(`another check (${report.ranBy}) ran at epoch ${report.epoch}; this command waited for it and reports its result:`);
  } else {
    out.line(`epoch ${report.epoch}: ${report.phases.map((p) => `${p.name} ${p.ms} ms`).join(', ')}`);
    if (out.verbose) {
      out.table(['worker', 'pid', 'data sets', 'versions', 'checked', 'taken over', 'repaired', 'lost', 'state'], report.workers.map((w) => [
        `store ${w.slot}`, w.pid ?? '-', w.registeredDatasets, w.registeredVersions, w.checkedDatasets, w.takenOver, w.repairedBlocks, w.lostDatasets,
        w.state === 'confirmed' ? out.color.green(w.state) : out.color.red(w.state),
      ]));
    }
    // A worker that did not confirm is a problem whatever else the report says.
    for (const w of report.workers) if (w.state !== 'confirmed') out.alert(out.color.red(`! worker of store ${w.slot}${w.pid === undefined ? '' : ` (pid ${w.pid})`}: ${w.state}`));
  }
  // Repairs of metadata and decided versions are what makes a check exit 1 on a pool it left healthy: --quiet shows them too.
  for (const action of report.actions) out.alert(`* ${action}`);
  for (const action of report.housekeeping) out.line(`* ${action}`);
  const versions = out.verbose ? report.versionReports : report.versionReports.slice(0, LISTED_VERSIONS);
  for (const v of versions) out.alert(`* ${v.name ?? v.fileId} version ${v.sequence}: ${v.outcome} (${v.detail})`);
  if (versions.length < report.versionReports.length) out.alert(`... and ${report.versionReports.length - versions.length} more interrupted versions; --verbose or --json lists every one`);
  const summary = report.health;
  for (const line of storeLines(report.stores, summary.byStore, true)) out.alert(out.color.yellow(line));
  for (const fault of report.storeFaults) out.alert(out.color.yellow(`! ${fault}`));
  printTroubledFiles(out, report.files, summary, report.stores);
  const lc = report.lastCheck;
  out.line(`${lc.datasets} data sets checked, ${lc.repairedBlocks} blocks repaired, ${lc.lostDatasets} data sets lost`);
  // A rebuild of an emptied or replaced store reads k blocks per data set: say what it did not read.
  const unread = report.unreadBlocks;
  if (unread > 0) out.line(`${unread} blocks on the other stores were not read (k blocks rebuilt each lost one); 'rain check' or 'rain verify' reads every block`);
  const paint = report.verdict === 'healthy' ? out.color.green : report.verdict === 'degraded' ? out.color.yellow : out.color.red;
  const verdict = `pool ${report.poolName}: ${paint(report.verdict)} (active at epoch ${report.epoch})`;
  if (report.verdict === 'healthy') out.line(verdict);
  else out.alert(verdict);
  const next = nextStepLine(report.verdict, report.stores, true);
  if (next) out.alert(next);
}
