import { addCpu, cpuSecondsOf, mergeRss, type Measurement } from './measurement.js';
import { prepareTimedPhase } from './page-cache.js';
import type { RainCli } from './rain-cli.js';
import { LoadProbe } from './system-load.js';
import { describeFailure, type CommandRun } from './timed-command.js';

export interface TimingOptions {
  /** Receives stdout instead of the kept tail (a get to stdout, hashed). */
  readonly onStdout?: (index: number, chunk: Buffer) => void;
  /** Keep every command's whole stdout (a --json document that lists 20,000 files). */
  readonly wholeStdout?: boolean;
  /** false: do not wait for a quiet machine first (a quick probe right after a timed run). */
  readonly waitForQuiet?: boolean;
}

/**
 * One timed rain operation made of one or more commands run back to back: wall time, CPU and
 * peak RSS are summed or maxed over them.
 * The machine is given its chance to go quiet and the page cache is dropped once, before the
 * first command.
 */
export async function timeRainCommands(
  cli: RainCli, label: string, userBytes: number, commands: readonly (readonly string[])[], okExitCodes: readonly number[],
  problems: string[], options: TimingOptions = {},
): Promise<{ measurement: Measurement; runs: CommandRun[]; stdouts: string[] }> {
  const cacheDropped = await prepareTimedPhase(options.waitForQuiet ?? true);
  const probe = new LoadProbe();
  const runs: CommandRun[] = [];
  const stdouts: string[] = [];
  let ok = true;
  for (const [index, args] of commands.entries()) {
    const chunks: Buffer[] = [];
    const sink = options.onStdout
      ? (chunk: Buffer) => options.onStdout?.(index, chunk)
      : options.wholeStdout ? (chunk: Buffer) => { chunks.push(chunk); } : undefined;
    const run = await cli.run(args, true, sink);
    runs.push(run);
    stdouts.push(options.wholeStdout ? Buffer.concat(chunks).toString('utf8') : run.stdout);
    if (run.exitCode === null || !okExitCodes.includes(run.exitCode)) {
      ok = false;
      problems.push(`${label}: ${describeFailure(run)}`);
      break;
    }
  }
  const cpu = runs.reduce<Measurement['cpu']>((sum, r) => addCpu(sum, r.cpu), undefined);
  return {
    runs,
    stdouts,
    measurement: {
      label,
      userBytes,
      seconds: ok ? runs.reduce((sum, r) => sum + r.wallSeconds, 0) : NaN,
      cacheDropped,
      ok,
      notes: commands.length > 1 ? [`${commands.length} commands, start-ups included`] : [],
      rss: runs.reduce<Measurement['rss']>((peak, r) => mergeRss(peak, r.rss), undefined),
      cpu,
      otherCores: probe.otherCores(cpuSecondsOf(cpu)),
    },
  };
}

/** Adds notes; a failed check (ok false) turns the row into a failure. */
export function withNotes(m: Measurement, ok: boolean, ...notes: string[]): Measurement {
  return { ...m, ok: m.ok && ok, seconds: m.ok && ok ? m.seconds : NaN, notes: [...m.notes, ...notes] };
}
