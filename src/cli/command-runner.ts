import type { Command } from 'commander';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { beforeInterruptionMessage, interruptedBy, noteCommandFinished } from './interruption.js';
import { setNoticeSink } from '../ops/notices.js';
import { Output, type OutputFlags } from './output.js';

export interface CommonFlags extends OutputFlags {
  readonly pool?: string;
}

/** Adds the options every command takes: -p/--pool, --json, --quiet. */
export function withCommonOptions(command: Command, takesPool = true): Command {
  if (takesPool) command.option('-p, --pool <POOL>', 'any store directory of the pool, or a pool name (default: $RAIN_POOL)');
  return command
    .option('--json', 'print one JSON document on stdout')
    .option('-q, --quiet', 'print nothing on success; otherwise only the problems and errors');
}

/** Runs a command body with its Output and turns the outcome into process.exitCode. */
export async function runCommand(flags: OutputFlags, body: (out: Output) => Promise<ExitCodeValue>): Promise<void> {
  const out = new Output(flags);
  setNoticeSink((message) => out.notice(message));
  beforeInterruptionMessage(() => out.stopProgress());
  try {
    const exitCode = await body(out);
    if (interruptedBy() === undefined) process.exitCode = exitCode;
  } catch (error) {
    // After Ctrl-C the operation fails because it was stopped; interruption.ts has said so.
    if (interruptedBy() === undefined) process.exitCode = out.fail(error);
  } finally {
    out.stopProgress();
    noteCommandFinished();
  }
}

export const EXIT_CODE_HELP = `
Exit codes:
  ${ExitCode.ok}   healthy / success
  ${ExitCode.repairable}   problems found that are repairable, or were repaired (a degraded read, a store down); diff, sync --dry-run: something differs
  ${ExitCode.dataLost}   data lost: some data set has fewer than k good blocks
  ${ExitCode.usage}  usage error (bad arguments, unknown name, not a pool)
  ${ExitCode.badInput}  bad input data (a source that is not a regular file or directory)
  ${ExitCode.ioFailure}  I/O or operational failure (store not writable, too few stores reachable, worker died)
  ${ExitCode.interrupted} interrupted by Ctrl-C (SIGINT): committed files are kept, the interrupted one is left for the next check
  ${ExitCode.terminated} stopped by SIGTERM, the same way`;
