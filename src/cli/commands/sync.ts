import type { Command } from 'commander';
import { previewSync, syncDirectory } from '../../ops/sync-dir.js';
import { ExitCode, exitCodeOfDifferences } from '../exit-codes.js';
import { runCommand, withCommonOptions } from '../command-runner.js';
import { treeExclusion, withExcludeOptions, type ExcludeFlags } from '../exclude-options.js';
import { formatBytes } from '../output.js';
import { countChanges, printTreeChanges } from '../tree-changes.js';

export function registerSync(program: Command): void {
  withCommonOptions(withExcludeOptions(program.command('sync')
    .description('bring the pool in line with a directory: new files added, changed data sets re-encoded, removed files deleted with --delete')
    .argument('<SOURCE_DIR>', 'the directory to mirror')
    .option('--as <PREFIX>', 'name prefix in the pool (default: the directory name)')
    .option('--delete', 'delete files under PREFIX that are no longer in SOURCE_DIR (excluded ones are kept)')
    .option('--checksum', 'read and compare every file, not only those whose size, times or inode changed')
    .option('-n, --dry-run', 'only list what would be added (+), updated (~) and deleted (-, with --delete); write nothing; exit 1 if anything would change')))
    .action(async (sourceDir: string, flags: ExcludeFlags & { pool?: string; as?: string; delete?: boolean; checksum?: boolean; dryRun?: boolean; json?: boolean; quiet?: boolean }) => {
      await runCommand(flags, async (out) => {
        const exclude = treeExclusion(flags);
        const options = { pool: flags.pool, sourceDir, as: flags.as, deleteMissing: flags.delete, checksum: flags.checksum, exclude };
        if (flags.dryRun) {
          const preview = await previewSync({ ...options, listDeleted: flags.delete === true });
          for (const warning of preview.warnings) out.notice(warning);
          const counts = countChanges(preview.changes);
          out.document({ ok: true, dryRun: true, prefix: preview.prefix, ...counts, unchanged: preview.unchanged, excluded: exclude?.excludedCount ?? 0, bytesRead: preview.bytesRead, changes: preview.changes });
          printTreeChanges(out, preview.changes);
          out.line(`would add ${counts.added}, update ${counts.updated}, delete ${counts.deleted}; ${preview.unchanged} unchanged; read ${formatBytes(preview.bytesRead)}; nothing written`);
          return exitCodeOfDifferences(preview.changes.length > 0);
        }
        const report = await syncDirectory({ ...options, onProgress: out.progress('syncing') });
        const excluded = exclude?.excludedCount ?? 0;
        out.stopProgress();
        for (const warning of report.warnings) out.notice(warning);
        out.document({ ok: true, ...report, excluded });
        for (const name of report.added) out.line(`added   ${name}`);
        for (const name of report.updated) out.line(`updated ${name}`);
        for (const name of report.deleted) out.line(`deleted ${name}`);
        out.line(`${report.added.length} added, ${report.updated.length} updated, ${report.unchanged} unchanged, ${report.deleted.length} deleted${excluded > 0 ? `, ${excluded} excluded` : ''}; `
          + `read ${formatBytes(report.bytesRead)}, wrote ${formatBytes(report.bytesWritten)}, ${report.datasetsRewritten} data sets rewritten, ${report.datasetsKept} kept`);
        return report.warnings.length > 0 ? ExitCode.repairable : ExitCode.ok;
      });
    });
}
