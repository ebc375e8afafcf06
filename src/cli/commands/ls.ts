import type { Command } from 'commander';
import { listFiles } from '../../ops/list-files.js';
import { ExitCode } from '../exit-codes.js';
import { runCommand, withCommonOptions } from '../command-runner.js';
import { formatBytes } from '../output.js';

export function registerLs(program: Command): void {
  withCommonOptions(program.command('ls')
    .description('list names, sizes and health (health from store availability; verify reads blocks)')
    .argument('[PREFIX]', 'only names starting with PREFIX'))
    .action(async (prefix: string | undefined, flags: { pool?: string; json?: boolean; quiet?: boolean }) => {
      await runCommand(flags, async (out) => {
        const { poolName, files, directories } = await listFiles({ pool: flags.pool, prefix });
        out.document({ ok: true, pool: poolName, files, directories });
        const paint = (h: string) => (h === 'ok' ? out.color.green(h) : h === 'degraded' ? out.color.yellow(h) : out.color.red(h));
        out.table(['name', 'size', 'data sets', 'health'], [
          ...files.map((f) => [f.kind === 'symlink' ? `${f.name} -> ${f.target ?? ''}` : f.name, formatBytes(f.sizeBytes), f.datasets, paint(f.health)]),
          ...directories.map((d) => [`${d}/`, '-', 0, paint('ok')]),
        ]);
        out.line(`${files.length} files, ${formatBytes(files.reduce((s, f) => s + f.sizeBytes, 0))}${directories.length > 0 ? `, ${directories.length} directories` : ''}`);
        if (files.some((f) => f.health === 'unavailable')) return ExitCode.dataLost;
        return files.some((f) => f.health === 'degraded') ? ExitCode.repairable : ExitCode.ok;
      });
    });
}
