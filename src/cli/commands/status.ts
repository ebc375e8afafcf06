import type { Command } from 'commander';
import { poolStatus } from '../../ops/pool-status.js';
import { describeStoreProblem, reportedStores } from '../../ops/store-problem.js';
import { withCommonOptions } from '../command-runner.js';
import { exitCodeOfVerdict } from '../exit-codes.js';
import { formatBytes } from '../output.js';
import { runReportCommand, withReportOptions, type ReportFlags } from '../report-options.js';
import { nextStepLine, storeLines } from '../store-lines.js';
import { describeLastCheck, scrubHistogramLines } from '../scrub-report.js';

export function registerStatus(program: Command): void {
  withReportOptions(withCommonOptions(program.command('status').description('stores, space and health, as a table (reads metadata only)')))
    .action(async (flags: ReportFlags) => {
      await runReportCommand('status', flags, async (out) => {
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
        // Stores in trouble get a line each with the cause and the next step; other problems as they are.
        const stores = reportedStores(status.stores);
        const storeProblemTexts = new Set(stores.filter((s) => s.condition !== 'online').map(describeStoreProblem));
        for (const line of storeLines(stores, {}, false)) out.alert(out.color.yellow(line));
        for (const problem of status.problems) if (!storeProblemTexts.has(problem)) out.alert(out.color.yellow(`! ${problem}`));
        const verdict = `health: ${status.health === 'healthy' ? out.color.green(status.health) : out.color.red(status.health)}`;
        if (status.health === 'healthy') out.line(verdict);
        else out.alert(verdict);
        const next = nextStepLine(status.health, stores, false);
        if (next && stores.some((s) => s.condition !== 'online')) out.alert(next);
        return {
          exitCode,
          facts: {
            pool: status.poolName, verdict: status.health, stores: status.stores.map((s) => ({ ...s, ...reportedStores([s])[0] })),
            storedFiles: status.fileCount, storedBytes: status.storedBytes, lastCheck: status.lastCheck,
          },
        };
      });
    });
}
