import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { describeError, usageError } from '../rain-error.js';
import { runCommand } from './command-runner.js';
import { ExitCode, exitCodeOfError, type ExitCodeValue } from './exit-codes.js';
import { writeMetricsFile } from './metrics-file.js';
import type { Output, OutputFlags } from './output.js';
import { reportMetrics, type ReportFacts } from './report-metrics.js';

export interface ReportFlags extends OutputFlags {
  readonly pool?: string;
  readonly metricsFile?: string;
}

/** The options of commands that report on a pool (status, verify, check, rebuild): --verbose and --metrics-file. */
export function withReportOptions(command: Command): Command {
  return command
    .option('-v, --verbose', 'list every troubled file and its details (the default is a summary)')
    .option('--metrics-file <PATH>', 'also write the outcome as a Prometheus text file (for node_exporter\'s textfile collector), atomically');
}

/** What a report command's body hands back: its exit code and the facts its metrics are made of. */
export interface ReportOutcome {
  readonly exitCode: ExitCodeValue;
  readonly facts: Omit<ReportFacts, 'command' | 'exitCode' | 'durationMs' | 'finishedAtMs'>;
}

/**
 * Runs a report command; with --metrics-file writes its metrics once it ended, also when it
 * failed (then with the exit code and duration alone), so a dead cron job shows as such.
 */
export async function runReportCommand(name: string, flags: ReportFlags, body: (out: Output) => Promise<ReportOutcome>): Promise<void> {
  const metricsFile = flags.metricsFile;
  await runCommand(flags, async (out) => {
    const startedMs = Date.now();
    if (metricsFile !== undefined) await checkMetricsDir(metricsFile);
    let outcome: ReportOutcome;
    try {
      outcome = await body(out);
    } catch (error) {
      if (metricsFile !== undefined) {
        const facts = { pool: flags.pool ?? process.env.RAIN_POOL ?? '', command: name, exitCode: exitCodeOfError(error), durationMs: Date.now() - startedMs, finishedAtMs: Date.now() };
        await writeMetricsFile(metricsFile, reportMetrics(facts).render()).catch(() => undefined);
      }
      throw error;
    }
    if (metricsFile === undefined) return outcome.exitCode;
    const facts = { ...outcome.facts, command: name, exitCode: outcome.exitCode, durationMs: Date.now() - startedMs, finishedAtMs: Date.now() };
    try {
      await writeMetricsFile(metricsFile, reportMetrics(facts).render());
    } catch (error) {
      out.problem(`--metrics-file ${metricsFile}: not written: ${describeError(error)}`);
      return outcome.exitCode === ExitCode.ok ? ExitCode.ioFailure : outcome.exitCode;
    }
    return outcome.exitCode;
  });
}

/** A metrics file that cannot be written is a usage error found before a long verify, not after. */
async function checkMetricsDir(metricsFile: string): Promise<void> {
  const dir = path.dirname(path.resolve(metricsFile));
  const ok = await fs.access(dir, fs.constants.W_OK).then(() => true, () => false);
  if (!ok) throw usageError(`--metrics-file ${metricsFile}: directory ${dir} does not exist or is not writable; create it or choose another path`);
}
