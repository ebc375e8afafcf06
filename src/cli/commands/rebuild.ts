import type { Command } from 'commander';
import { rebuildPool } from '../../ops/rebuild-pool.js';
import { withCommonOptions } from '../command-runner.js';
import { exitCodeOfVerdict } from '../exit-codes.js';
import { runReportCommand, withReportOptions, type ReportFlags } from '../report-options.js';
import { checkFacts, keptFilesOf } from './check.js';
import { printCheckReport } from './check-report.js';

export function registerRebuild(program: Command): void {
  withReportOptions(withCommonOptions(program.command('rebuild')
    .description('restore missing or corrupt blocks; refill emptied or re-created store directories (runs the check protocol)')
    .option('--replace <OLD=NEW...>', 'put directory NEW in the place of lost store OLD (its path or slot number)')))
    .action(async (flags: ReportFlags & { replace?: string[] }) => {
      await runReportCommand('rebuild', flags, async (out) => {
        const progress = out.progress('rebuild');
        const report = await rebuildPool({ pool: flags.pool, replace: flags.replace, keepFiles: keptFilesOf(out), onPhase: (phase) => progress(0, 0, phase), onProgress: (done, total) => progress(done, total) });
        out.stopProgress();
        const exitCode = exitCodeOfVerdict(report.verdict, report.changed);
        out.document({ ok: true, ...report, exitCode });
        for (const action of report.rebuildActions) out.line(`* ${action}`);
        printCheckReport(out, report);
        return { exitCode, facts: checkFacts(report) };
      });
    });
}
