import type { Command } from 'commander';
import { putFiles } from '../../ops/put-files.js';
import { usageError } from '../../rain-error.js';
import { ExitCode } from '../exit-codes.js';
import { runCommand, withCommonOptions } from '../command-runner.js';
import { treeExclusion, withExcludeOptions, type ExcludeFlags } from '../exclude-options.js';
import { formatBytes, formatRate } from '../output.js';

export function registerPut(program: Command): void {
  withCommonOptions(withExcludeOptions(program.command('put')
    .description("encode a file (or a directory with -r, or '-' for stdin) into the pool")
    .argument('<SOURCE>', "a file, a directory with -r, or '-' for standard input")
    .option('--as <NAME>', 'name in the pool (default: the file name; with -r, a prefix)')
    .option('-r, --recursive', 'put a directory; names keep their relative paths')))
    .action(async (source: string, flags: ExcludeFlags & { pool?: string; as?: string; recursive?: boolean; json?: boolean; quiet?: boolean }) => {
      await runCommand(flags, async (out) => {
        const started = Date.now();
        const exclude = treeExclusion(flags);
        if (exclude && !flags.recursive) throw usageError('--exclude and --exclude-from leave out entries of a directory tree; use them with put -r');
        const report = await putFiles({ pool: flags.pool, source, as: flags.as, recursive: flags.recursive, exclude, onProgress: out.progress('putting'), listFiles: flags.json === true });
        const excluded = exclude?.excludedCount ?? 0;
        out.stopProgress();
        const ms = Date.now() - started;
        for (const warning of report.warnings) out.notice(warning);
        out.document({ ok: true, files: report.files, directories: report.directories, excluded, totalBytes: report.totalBytes, durationMs: ms, warnings: report.warnings });
        if (report.fileCount + report.symlinkCount === 1 && report.directories === 0) {
          const f = report.files[0];
          out.line(`${f.replaced ? 'replaced' : 'stored'} ${f.name}: ${formatBytes(f.sizeBytes)} in ${f.datasets} data set${f.datasets === 1 ? '' : 's'} (${formatRate(f.sizeBytes, ms)})`);
        } else {
          const links = report.symlinkCount;
          const also = [links > 0 ? `${links} symlinks` : '', report.directories > 0 ? `${report.directories} directories` : '', excluded > 0 ? `${excluded} excluded` : ''].filter((x) => x !== '');
          out.line(`stored ${report.fileCount} files${also.length > 0 ? `, ${also.join(', ')}` : ''}; ${formatBytes(report.totalBytes)} (${formatRate(report.totalBytes, ms)})`);
        }
        return report.warnings.length > 0 ? ExitCode.repairable : ExitCode.ok;
      });
    });
}
