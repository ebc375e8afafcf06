import type { Command } from 'commander';
import { previewSync } from '../../ops/sync-dir.js';
import { exitCodeOfDifferences } from '../exit-codes.js';
import { runCommand, withCommonOptions } from '../command-runner.js';
import { treeExclusion, withExcludeOptions, type ExcludeFlags } from '../exclude-options.js';
import { formatBytes } from '../output.js';
import { countChanges, printTreeChanges } from '../tree-changes.js';

export function registerDiff(program: Command): void {
  withCommonOptions(withExcludeOptions(program.command('diff')
    .description('compare a directory with the names under PREFIX in the pool: + only in DIR, ~ differs, - only in the pool; writes nothing; exit 1 if anything differs')
    .argument('<DIR>', 'the directory to compare')
    .option('--as <PREFIX>', 'name prefix in the pool (default: the directory name)')
    .option('--checksum', 'read and compare every file, not only those whose size, times or inode changed')))
    .action(async (dir: string, flags: ExcludeFlags & { pool?: string; as?: string; checksum?: boolean; json?: boolean; quiet?: boolean }) => {
      await runCommand(flags, async (out) => {
        // Unlike sync --dry-run, names missing from DIR are always listed: diff shows every difference.
        // Excluded names (--exclude, as for sync) are left out on both sides.
        const preview = await previewSync({ pool: flags.pool, sourceDir: dir, as: flags.as, checksum: flags.checksum, exclude: treeExclusion(flags), listDeleted: true });
        for (const warning of preview.warnings) out.notice(warning);
        const counts = countChanges(preview.changes);
        out.document({ ok: true, prefix: preview.prefix, ...counts, unchanged: preview.unchanged, bytesRead: preview.bytesRead, changes: preview.changes });
        printTreeChanges(out, preview.changes);
        out.line(`${counts.added} only in ${dir}, ${counts.updated} differ, ${counts.deleted} only in the pool; ${preview.unchanged} the same; read ${formatBytes(preview.bytesRead)}`);
        return exitCodeOfDifferences(preview.changes.length > 0);
      });
    });
}
