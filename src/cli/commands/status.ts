import type { Command } from 'commander';
import { poolStatus } from '../../ops/pool-status.js';
import { runCommand, withCommonOptions } from '../command-runner.js';
import { exitCodeOfVerdict } from '../exit-codes.js';
import { formatBytes } from '../output.js';
import { describeLastCheck, scrubHistogramLines } from '../scrub-report.js';

export function registerStatus(program: Command): void {
  withCommonOptions(program.command('status').description('stores, space and health, as a table (reads metadata only)'))
    .action(async (flags: { pool?: string; json?: boolean; quiet?: boolean }) => {
      await runCommand(flags, async (out) => {
        const status = await poolStatus({ pool: flags.pool });
        const exitCode = exitCodeOfVerdict(status.health);
        out.document({ ok: true, ...status, exitCode });
        out.line(`pool ${out.color.bold(status.poolName)} (${status.poolId}): ${status.k}+${status.m}, ${formatBytes(status.blockSizeBytes)} blocks, epoch ${status.epoch}`);
        const paint = (c: string) => (c === 'online' ? out.color.green(c) : out.color.red(c));
        out.table(['slot', 'path', 'state', 'free', 'size'], status.stores.map((s) => [
          s.slot, s.path, paint(s.condition), s.freeBytes === undefined ? '-' : formatBytes(s.freeBytes), s.totalBytes === undefined ? '-' : formatBytes(s.totalBytes),
        ]));
        out.line(`${status.fileCount} files, ${formatBytes(status.storedBytes)} of data`);
        for (const line of scrubHistogramLines(status.scrubAges)) out.line(line);
        out.line(describeLastCheck(status.lastCheck, Date.now()));
        for (const problem of status.problems) out.line(out.color.yellow(`! ${problem}`));
        const verdict = status.health === 'healthy' ? out.color.green(status.health) : out.color.red(status.health);
        out.line(`health: ${verdict}`);
        return exitCode;
      });
    });
}
