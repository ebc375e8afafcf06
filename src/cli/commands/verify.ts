import type { Command } from 'commander';
import { verifyPool } from '../../ops/verify-pool.js';
import { runCommand, withCommonOptions } from '../command-runner.js';
import { exitCodeOfVerdict } from '../exit-codes.js';
import { printHealth } from './health-report.js';
import { scrubRequestOf, withScrubOptions, type ScrubFlags } from '../scrub-options.js';
import { describeCoverage } from '../scrub-report.js';

export function registerVerify(program: Command): void {
  withScrubOptions(withCommonOptions(program.command('verify')
    .description('read and check every block of every data set; report, repair nothing (exit 0/1/2)')
    .argument('[NAME...]', 'only these files')))
    .action(async (names: string[], flags: { pool?: string; json?: boolean; quiet?: boolean } & ScrubFlags) => {
      await runCommand(flags, async (out) => {
        const scrub = scrubRequestOf(flags);
        const report = await verifyPool({ pool: flags.pool, names, scrub, onProgress: out.progress('verifying') });
        out.stopProgress();
        const exitCode = exitCodeOfVerdict(report.verdict);
        out.document({ ok: true, ...report, exitCode });
        printHealth(out, report);
        if (report.scrub) out.line(describeCoverage(report.scrub, Date.now()));
        return exitCode;
      });
    });
}
