import type { Command } from 'commander';
import { compactPool } from '../../ops/compact-pool.js';
import { REPACK_LIVE_SHARE } from '../../ops/repack-selection.js';
import { ExitCode } from '../exit-codes.js';
import { runCommand, withCommonOptions } from '../command-runner.js';
import { formatBytes } from '../output.js';

export function registerCompact(program: Command): void {
  withCommonOptions(program.command('compact')
    .description(`repack small-file packs whose live files fill less than ${REPACK_LIVE_SHARE * 100}% of them (no lock: puts and gets may run meanwhile)`)
    .option('--dry-run', 'say what would be repacked; write nothing'))
    .action(async (flags: { pool?: string; json?: boolean; quiet?: boolean; dryRun?: boolean }) => {
      await runCommand(flags, async (out) => {
        const report = await compactPool({ pool: flags.pool, dryRun: flags.dryRun === true });
        for (const warning of report.warnings) out.notice(warning);
        out.document({ ok: true, ...report });
        const would = report.dryRun ? 'would be ' : '';
        out.line(`packs ${would}repacked ${report.packsRepacked}, bytes ${would}reclaimed ${report.bytesReclaimed} (${formatBytes(Math.max(0, report.bytesReclaimed))})`);
        if (!report.dryRun && report.packsRepacked > 0) {
          out.line(`${report.filesMoved} files moved into ${report.newPacks} new packs; ${report.oldPacksRemoved} old packs removed`
            + (report.packsRepacked > report.oldPacksRemoved ? `, ${report.packsRepacked - report.oldPacksRemoved} left to the next 'rain check' (in use meanwhile)` : ''));
        }
        return report.warnings.length > 0 ? ExitCode.repairable : ExitCode.ok;
      });
    });
}
