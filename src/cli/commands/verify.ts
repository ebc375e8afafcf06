import type { Command } from 'commander';
import { verifyPool } from '../../ops/verify-pool.js';
import { withCommonOptions } from '../command-runner.js';
import { exitCodeOfVerdict } from '../exit-codes.js';
import { runReportCommand, withReportOptions, type ReportFlags } from '../report-options.js';
import { scrubRequestOf, withScrubOptions, type ScrubFlags } from '../scrub-options.js';
import { describeCoverage } from '../scrub-report.js';
import { printHealth } from './health-report.js';
import { keptFilesOf } from './check.js';

export function registerVerify(program: Command): void {
  withReportOptions(withScrubOptions(withCommonOptions(program.command('verify')
    .description('read and check every block of every data set; report, repair nothing (exit 0/1/2)')
    .argument('[NAME...]', 'only these files'))))
    .action(async (names: string[], flags: ReportFlags & ScrubFlags) => {
      await runReportCommand('verify', flags, async (out) => {
        const scrub = scrubRequestOf(flags);
        // A summary keeps counts and the few files it lists, so its memory does not grow with the pool.
        const keepFiles = keptFilesOf(out);
        const report = await verifyPool({ pool: flags.pool, names, scrub, keepFiles, onProgress: out.progress('verifying') });
        out.stopProgress();
        const exitCode = exitCodeOfVerdict(report.verdict);
        out.document({ ok: true, ...report, exitCode });
        printHealth(out, report);
        if (report.scrub) out.line(describeCoverage(report.scrub, Date.now()));
        const summary = report.summary;
        return {
          exitCode,
          facts: {
            pool: report.poolName, verdict: report.verdict, stores: report.stores, health: summary,
            datasets: { checked: summary.datasets, lost: summary.lostDatasets, repairedBlocks: 0 },
          },
        };
      });
    });
}
