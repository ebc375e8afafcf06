import type { CheckReport } from '../../ops/check-pool.js';
import type { Output } from '../output.js';
import { printTroubledFiles } from './troubled-files.js';

/** Human rendering of the initialization protocol's result, shared by check and rebuild. */
export function printCheckReport(out: Output, report: CheckReport): void {
  if (report.ranBy) {
    out.line(`another check (${report.ranBy}) ran at epoch ${report.epoch}; this command waited for it and reports its result:`);
  } else {
    out.line(`epoch ${report.epoch}: ${report.phases.map((p) => `${p.name} ${p.ms} ms`).join(', ')}`);
    out.table(['worker', 'pid', 'data sets', 'versions', 'checked', 'taken over', 'repaired', 'lost', 'state'], report.workers.map((w) => [
      `store ${w.slot}`, w.pid ?? '-', w.registeredDatasets, w.registeredVersions, w.checkedDatasets, w.takenOver, w.repairedBlocks, w.lostDatasets,
      w.state === 'confirmed' ? out.color.green(w.state) : out.color.red(w.state),
    ]));
  }
  for (const action of [...report.actions, ...report.housekeeping]) out.line(`* ${action}`);
  for (const v of report.versionReports) out.line(`* ${v.name ?? v.fileId} version ${v.sequence}: ${v.outcome} (${v.detail})`);
  for (const problem of report.storeProblems) out.line(out.color.yellow(`! ${problem}`));
  printTroubledFiles(out, report.files);
  const lc = report.lastCheck;
  out.line(`${lc.datasets} data sets checked, ${lc.repairedBlocks} blocks repaired, ${lc.lostDatasets} data sets lost`);
  const paint = report.verdict === 'healthy' ? out.color.green : report.verdict === 'degraded' ? out.color.yellow : out.color.red;
  out.line(`pool ${report.poolName}: ${paint(report.verdict)} (active at epoch ${report.epoch})`);
}
