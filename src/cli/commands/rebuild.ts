import type { Command } from 'commander';
import { rebuildPool } from '../../ops/rebuild-pool.js';
import { runCommand, withCommonOptions } from '../command-runner.js';
import { printHealth } from './health-report.js';

export function registerRebuild(program: Command): void {
  withCommonOptions(program.command('rebuild')
    .description('restore missing or corrupt blocks; refill emptied or re-created store directories')
    .option('--replace <OLD=NEW...>', 'put directory NEW in the place of lost store OLD (its path or slot number)'))
    .action(async (flags: { pool?: string; replace?: string[]; json?: boolean; quiet?: boolean }) => {
      await runCommand(flags, async (out) => {
        const report = await rebuildPool({ pool: flags.pool, replace: flags.replace, onProgress: out.progress('rebuilding') });
        out.stopProgress();
        out.document({ ok: true, ...report });
        for (const action of report.actions) out.line(`* ${action}`);
        printHealth(out, report);
        return report.exitCode;
      });
    });
}
