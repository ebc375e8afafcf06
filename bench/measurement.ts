import type { RssPeak } from './process-tree-rss.js';
import type { CpuUsage } from './timed-command.js';

/** One timed operation, whoever ran it (the floor, rain or a peer). */
export interface Measurement {
  readonly label: string;
  /** User data bytes the operation covers: throughput is userBytes / seconds. */
  readonly userBytes: number;
  /** Wall seconds (summed over files when the operation runs once per file); NaN if it failed. */
  readonly seconds: number;
  /** False when the page cache could not be dropped before the operation (warm cache). */
  readonly cacheDropped: boolean;
  readonly ok: boolean;
  readonly notes: readonly string[];
  readonly rss?: RssPeak;
  readonly cpu?: CpuUsage;
  /** Average cores used by processes other than the bench and the measured command (noise). */
  readonly otherCores?: number;
  /** Set when the operation was not run at all (not supported, skipped): the reason. */
  readonly notRun?: string;
}

/** A row for an operation that was not run; its MB/s cell says 'not run' and its notes say why. */
export function notRun(label: string, userBytes: number, reason: string): Measurement {
  return { label, userBytes, seconds: NaN, cacheDropped: true, ok: false, notes: [], notRun: reason };
}

export function megabytesPerSecond(m: Measurement): number {
  return m.ok && m.seconds > 0 ? m.userBytes / 1e6 / m.seconds : NaN;
}

/** The larger of two optional peaks, field by field (for operations run once per file). */
export function mergeRss(a: RssPeak | undefined, b: RssPeak | undefined): RssPeak | undefined {
  if (!a) return b;
  if (!b) return a;
  return {
    treeMaxBytes: Math.max(a.treeMaxBytes, b.treeMaxBytes),
    treePssMaxBytes: a.treePssMaxBytes === undefined || b.treePssMaxBytes === undefined ? undefined : Math.max(a.treePssMaxBytes, b.treePssMaxBytes),
    processMaxBytes: Math.max(a.processMaxBytes, b.processMaxBytes),
    processMaxRole: a.processMaxBytes >= b.processMaxBytes ? a.processMaxRole : b.processMaxRole,
    roleMaxBytes: mergeRoleMaxima(a.roleMaxBytes, b.roleMaxBytes),
    maxProcesses: Math.max(a.maxProcesses, b.maxProcesses),
    samples: a.samples + b.samples,
  };
}

function mergeRoleMaxima(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): Record<string, number> {
  const merged: Record<string, number> = { ...a };
  for (const [role, bytes] of Object.entries(b)) merged[role] = Math.max(merged[role] ?? 0, bytes);
  return merged;
}

export function addCpu(a: CpuUsage | undefined, b: CpuUsage | undefined): CpuUsage | undefined {
  if (!a) return b;
  if (!b) return a;
  return { userSeconds: a.userSeconds + b.userSeconds, systemSeconds: a.systemSeconds + b.systemSeconds };
}

export function cpuSecondsOf(cpu: CpuUsage | undefined): number {
  return cpu ? cpu.userSeconds + cpu.systemSeconds : 0;
}

export function seconds(startedNs: bigint): number {
  return Number(process.hrtime.bigint() - startedNs) / 1e9;
}
