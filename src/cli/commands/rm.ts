import type { Command } from 'commander';
import { removeFiles } from '../../ops/remove-files.js';
import { ExitCode } from '../exit-codes.js';
import { runCommand, withCommonOptions } from '../command-runner.js';

export function registerRm(program: Command): void {
  withCommonOptions(program.command('rm')
    .description('remove files from the pool (a delete is recorded so it survives a returning store)')
    .argument('<NAME...>', 'names in the pool'))
    .action(async (names: string[], flags: { pool?: string; json?: boolean; quiet?: boolean }) => {
      await runCommand(flags, async (out) => {
        const report = await removeFiles({ pool: flags.pool, names });
        for (const warning of report.warnings) out.notice(warning);
        out.document({ ok: true, ...report });
        for (const r of report.removed) out.line(`removed ${r.name}`);
        return report.warnings.length > 0 ? ExitCode.repairable : ExitCode.ok;
      });
    });
}
