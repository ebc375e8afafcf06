import type { Command } from 'commander';
import type { CheckReport } from '../../ops/check-pool.js';
import type { KeptFiles } from '../../dataset/health-tally.js';
import type { Output } from '../output.js';
import { LISTED_NEWER } from './health-report.js';
import { LISTED_TROUBLED_FILES } from './troubled-files.js';
import { checkAndCompact } from '../../ops/check-and-compact.js';
import { withCommonOptions } from '../command-runner.js';
import { exitCodeOfVerdict } from '../exit-codes.js';
import { runReportCommand, withReportOptions, type ReportFlags, type ReportOutcome } from '../report-options.js';
import { scrubRequestOf, withScrubOptions, type ScrubFlags } from '../scrub-options.js';
import { describeCoverage } from '../scrub-report.js';
import { printCheckReport } from './check-report.js';

export function registerCheck(program: Command): void {
  withReportOptions(withScrubOptions(withCommonOptions(program.command('check')
    .description('run the pool-wide consistency check: workers agree on a new epoch, split the data sets, check, repair, confirm'))))
    .action(async (flags: ReportFlags & ScrubFlags) => {
      await runReportCommand('check', flags, async (out) => {
        const scrub = scrubRequestOf(flags);
        const progress = out.progress('check');
        const report = await checkAndCompact({
          pool: flags.pool, repair: true, scrub, keepFiles: keptFilesOf(out), onPhase: (phase) => progress(0, 0, phase), onProgress: (done, total) => progress(done, total),
        });
        out.stopProgress();
        const exitCode = exitCodeOfVerdict(report.verdict, report.changed);
        out.document({ ok: true, ...report, exitCode });
        printCheckReport(out, report);
        if (report.scrub) out.line(describeCoverage(report.scrub, Date.now()));
        return { exitCode, facts: checkFacts(report) };
      });
    });
}

/**
 * The files a check's or rebuild's report keeps besides its counts: all for --json, the troubled
 * ones for --verbose, else the few a summary lists (memory independent of the pool's size).
 */
export function keptFilesOf(out: Output): KeptFiles {
  return out.json ? 'all' : out.verbose ? 'troubled' : Math.max(LISTED_TROUBLED_FILES, LISTED_NEWER);
}

/** The metrics of a check or rebuild: its verdict, stores, files and the check's counts. */
export function checkFacts(report: CheckReport): ReportOutcome['facts'] {
  const lc = report.lastCheck;
  return {
    pool: report.poolName, verdict: report.verdict, stores: report.stores, health: report.health, lastCheck: lc,
    datasets: { checked: lc.datasets, lost: lc.lostDatasets, repairedBlocks: lc.repairedBlocks },
  };
}
