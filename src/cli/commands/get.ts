import type { Command } from 'commander';
import { getFile } from '../../ops/get-file.js';
import { ExitCode, usageError } from '../../rain-error.js';
import { runCommand, withCommonOptions } from '../command-runner.js';
import { formatBytes } from '../output.js';

export function registerGet(program: Command): void {
  withCommonOptions(program.command('get')
    .description("decode a file; '-o -' or a pipe without -o writes to stdout")
    .argument('<NAME>', 'name in the pool')
    .option('-o, --output <DEST>', "destination file or directory, or '-' for stdout"))
    .action(async (name: string, flags: { pool?: string; output?: string; json?: boolean; quiet?: boolean }) => {
      await runCommand(flags, async (out) => {
        const toStdout = flags.output === '-' || (flags.output === undefined && process.stdout.isTTY !== true);
        if (toStdout && flags.json) throw usageError('--json needs -o DEST (stdout carries the file)');
        const report = await getFile({
          pool: flags.pool, name,
          destination: toStdout ? { kind: 'stream', stream: process.stdout } : { kind: 'path', path: flags.output ?? '.' },
          onProgress: toStdout ? undefined : out.progress(`getting ${name}`),
        });
        out.stopProgress();
        if (report.reconstructedDatasets > 0) {
          out.notice(`${name}: reconstructed ${report.reconstructedDatasets} data sets from parity (${report.badBlocks.length} blocks missing or bad); run 'rain rebuild'`);
        }
        out.document({ ok: true, ...report });
        if (!toStdout) out.line(`wrote ${report.destination} (${formatBytes(report.sizeBytes)})`);
        return report.reconstructedDatasets > 0 ? ExitCode.repairable : ExitCode.ok;
      });
    });
}
