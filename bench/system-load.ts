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

  /**
   * Average cores used by other processes; undefined where /proc/stat is missing. The bench's own
   * CPU time is subtracted already, so work done inside the bench process counts as 0 here.
   */
  otherCores(treeCpuSeconds: number): number | undefined {
    const busyNow = machineBusySeconds();
    if (this.busy === undefined || busyNow === undefined) return undefined;
    const wall = Number(process.hrtime.bigint() - this.started) / 1e9;
    if (wall <= 0) return undefined;
    const other = busyNow - this.busy - (ownCpuSeconds() - this.own) - treeCpuSeconds;
    return Math.max(0, other / wall);
  }
}

const QUIET_CORES = 0.15;
/** The whole run waits at most this many times the per-phase limit. */
const BUDGET_PHASES = 12;
let quietWaitSeconds = 0;
let budgetSeconds = 0;
let waitedSeconds = 0;
let budgetAnnounced = false;
let quietLog: (text: string) => void = () => undefined;

/** How long each timed phase may wait for other processes to calm down (0: do not wait). */
export function configureQuietWait(maxSeconds: number, log: (text: string) => void): void {
  quietWaitSeconds = maxSeconds;
  budgetSeconds = maxSeconds * BUDGET_PHASES;
  waitedSeconds = 0;
  quietLog = log;
}

/**
 * Waits, up to the configured limit, until other processes use less than QUIET_CORES cores over
 * 2 s. On a shared machine this keeps a neighbour's test run out of most timings; when it does
 * not calm down in time the phase runs anyway and its row says DISTURBED. On a machine that stays
 * busy, waiting only makes the run longer, so the run as a whole waits at most BUDGET_PHASES
 * times the per-phase limit.
 */
export async function waitForQuiet(): Promise<void> {
  if (quietWaitSeconds <= 0) return;
  if (waitedSeconds >= budgetSeconds) {
    if (!budgetAnnounced) quietLog(`waited ${waitedSeconds.toFixed(0)} s for quiet in all; not waiting any more this run`);
    budgetAnnounced = true;
    return;
  }
  const started = Date.now();
  const deadline = started + Math.min(quietWaitSeconds, budgetSeconds - waitedSeconds) * 1000;
  let announced = false;
  try {
    for (;;) {
      const probe = new LoadProbe();
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const other = probe.otherCores(0);
      if (other === undefined || other < QUIET_CORES) {
        if (announced) quietLog('machine quiet again');
        return;
      }
      if (Date.now() >= deadline) {
        quietLog(`other processes still use ${other.toFixed(2)} cores; measuring anyway`);
        return;
      }
      if (!announced) quietLog(`other processes use ${other.toFixed(2)} cores; waiting up to ${quietWaitSeconds} s for quiet`);
      announced = true;
    }
  } finally {
    // The first 2 s probe is every phase's price, quiet or not; only waiting beyond it counts.
    waitedSeconds += Math.max(0, (Date.now() - started) / 1000 - 2);
  }
}
