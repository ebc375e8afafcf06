import type { Command } from 'commander';
import { checkPool } from '../../ops/check-pool.js';
import { runCommand, withCommonOptions } from '../command-runner.js';
import { printCheckReport } from './check-report.js';

export function registerCheck(program: Command): void {
  withCommonOptions(program.command('check')
    .description('run the pool-wide consistency check: workers agree on a new epoch, split the data sets, check, repair, confirm'))
    .action(async (flags: { pool?: string; json?: boolean; quiet?: boolean }) => {
      await runCommand(flags, async (out) => {
        const progress = out.progress('check');
        const report = await checkPool({ pool: flags.pool, repair: true, onPhase: (phase) => progress(0, 0, phase) });
        out.stopProgress();
        out.document({ ok: true, ...report });
        printCheckReport(out, report);
        return report.exitCode;
      });
    });
}
