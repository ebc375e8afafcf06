import type { Command } from 'commander';
import { checkPool } from '../../ops/check-pool.js';
import { runCommand, withCommonOptions } from '../command-runner.js';
import { exitCodeOfVerdict } from '../exit-codes.js';
import { printCheckReport } from './check-report.js';
import { scrubRequestOf, withScrubOptions, type ScrubFlags } from '../scrub-options.js';
import { describeCoverage } from '../scrub-report.js';

export function registerCheck(program: Command): void {
  withScrubOptions(withCommonOptions(program.command('check')
    .description('run the pool-wide consistency check: workers agree on a new epoch, split the data sets, check, repair, confirm')))
    .action(async (flags: { pool?: string; json?: boolean; quiet?: boolean } & ScrubFlags) => {
      await runCommand(flags, async (out) => {
        const scrub = scrubRequestOf(flags);
        const progress = out.progress('check');
        const report = await checkPool({ pool: flags.pool, repair: true, scrub, onPhase: (phase) => progress(0, 0, phase) });
        out.stopProgress();
        const exitCode = exitCodeOfVerdict(report.verdict, report.changed);
        out.document({ ok: true, ...report, exitCode });
        printCheckReport(out, report);
        if (report.scrub) out.line(describeCoverage(report.scrub, Date.now()));
        return exitCode;
      });
    });
}
