import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU seconds the whole machine has spent busy (user, nice, system, irq, softirq) since boot. */
function machineBusySeconds(): number | undefined {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq] = fields;
    return (user + nice + system + irq + softirq) / clockTicks();
  } catch {
    return undefined;
  }
}

function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/**
 * How busy the rest of the machine was during a timed phase: the machine's busy CPU time, less
 * the bench's own and less the measured command tree's, per wall second. A shared machine (another
 * engineer's test run, say) shows here, so a slow row can be told from a disturbed one.
 */
export class LoadProbe {
  private readonly busy = machineBusySeconds();
  private readonly own = ownCpuSeconds();
  private readonly started = process.hrtime.bigint();

  /** Average cores used by other processes; undefined where /proc/stat is missing. */
  otherCores(treeCpuSeconds: number): number | undefined {
    const busyNow = machineBusySeconds();
    if (this.busy === undefined || busyNow === undefined) return undefined;
    const wall = Number(process.hrtime.bigint() - this.started) / 1e9;
    if (wall <= 0) return undefined;
    const other = busyNow - this.busy - (ownCpuSeconds() - this.own) - treeCpuSeconds;
    return Math.max(0, other / wall);
  }
}
