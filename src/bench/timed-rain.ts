import { addCpu, cpuSecondsOf, mergeRss, type Measurement } from './measurement.js';
import { prepareTimedPhase } from './page-cache.js';
import type { RainCli } from './rain-cli.js';
import { LoadProbe } from './system-load.js';
import { describeFailure, type CommandRun } from './timed-command.js';

/**
 * One timed rain operation made of one or more commands run back to back (get takes one name,
 * so getting 8 files is 8 commands): wall time, CPU and peak RSS are summed or maxed over them.
 * The machine is given its chance to go quiet and the page cache is dropped once, before the
 * first command.
 */
export async function timeRainCommands(
  cli: RainCli, label: string, userBytes: number, commands: readonly (readonly string[])[], okExitCodes: readonly number[],
  problems: string[], onStdout?: (index: number, chunk: Buffer) => void,
): Promise<{ measurement: Measurement; runs: CommandRun[] }> {
  const cacheDropped = await prepareTimedPhase();
  const probe = new LoadProbe();
  const runs: CommandRun[] = [];
  let ok = true;
  for (const [index, args] of commands.entries()) {
    const run = await cli.run(args, true, onStdout ? (chunk) => onStdout(index, chunk) : undefined);
    runs.push(run);
    if (run.exitCode === null || !okExitCodes.includes(run.exitCode)) {
      ok = false;
      problems.push(`${label}: ${describeFailure(run)}`);
      break;
    }
  }
  const cpu = runs.reduce<Measurement['cpu']>((sum, r) => addCpu(sum, r.cpu), undefined);
  return {
    runs,
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
