import type { Command } from 'commander';
import { verifyPool } from '../../ops/verify-pool.js';
import { withCommonOptions } from '../command-runner.js';
import { exitCodeOfVerdict } from '../exit-codes.js';
import { runReportCommand, withReportOptions, type ReportFlags } from '../report-options.js';
import { scrubRequestOf, withScrubOptions, type ScrubFlags } from '../scrub-options.js';
import { describeCoverage } from '../scrub-report.js';
import { printHealth } from './health-report.js';

export function registerVerify(program: Command): void {
  withReportOptions(withScrubOptions(withCommonOptions(program.command('verify')
    .description('read and check every block of every data set; report, repair nothing (exit 0/1/2)')
    .argument('[NAME...]', 'only these files'))))
    .action(async (names: string[], flags: ReportFlags & ScrubFlags) => {
      await runReportCommand('verify', flags, async (out) => {
        const scrub = scrubRequestOf(flags);
        const report = await verifyPool({ pool: flags.pool, names, scrub, onProgress: out.progress('verifying') });
        out.stopProgress();
        const exitCode = exitCodeOfVerdict(report.verdict);
        out.document({ ok: true, ...report, exitCode });
        printHealth(out, report);
        if (report.scrub) out.line(describeCoverage(report.scrub, Date.now()));
        const checked = report.files.filter((f) => f.state !== 'superseded');
        return {
          exitCode,
          facts: {
            pool: report.poolName, verdict: report.verdict, stores: report.stores, files: report.files,
            datasets: { checked: checked.reduce((sum, f) => sum + f.datasets, 0), lost: checked.reduce((sum, f) => sum + f.lostDatasets.length, 0), repairedBlocks: 0 },
          },
        };
      });
    });
}
