import type { Command } from 'commander';
import { verifyPool } from '../../ops/verify-pool.js';
import { runCommand, withCommonOptions } from '../command-runner.js';
import { exitCodeOfVerdict } from '../exit-codes.js';
import { printHealth } from './health-report.js';

export function registerVerify(program: Command): void {
  withCommonOptions(program.command('verify')
    .description('read and check every block of every data set; report, repair nothing (exit 0/1/2)')
    .argument('[NAME...]', 'only these files'))
    .action(async (names: string[], flags: { pool?: string; json?: boolean; quiet?: boolean }) => {
      await runCommand(flags, async (out) => {
        const report = await verifyPool({ pool: flags.pool, names, onProgress: out.progress('verifying') });
        out.stopProgress();
        const exitCode = exitCodeOfVerdict(report.verdict);
        out.document({ ok: true, ...report, exitCode });
        printHealth(out, report);
        return exitCode;
      });
    });
}
