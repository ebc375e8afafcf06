import type { Command } from 'commander';
import { checkPool } from '../../ops/check-pool.js';
import { runCommand, withCommonOptions } from '../command-runner.js';
import { exitCodeOfVerdict } from '../exit-codes.js';
import { printCheckReport } from './check-report.js';

export function registerCheck(program: Command): void {
  withCommonOptions(program.command('check')
    .description('run the pool-wide consistency check: workers agree on a new epoch, split the data sets, check, repair, confirm'))
    .action(async (flags: { pool?: string; json?: boolean; quiet?: boolean }) => {
      await runCommand(flags, async (out) => {
        const progress = out.progress('check');
        const report = await checkPool({ pool: flags.pool, repair: true, onPhase: (phase) => progress(0, 0, phase) });
        out.stopProgress();
        const exitCode = exitCodeOfVerdict(report.verdict, report.changed);
        out.document({ ok: true, ...report, exitCode });
        printCheckReport(out, report);
        return exitCode;
      });
    });
}
