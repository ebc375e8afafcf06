import { readdirSync, readFileSync } from 'node:fs';

export interface RssPeak {
  /** The largest sum of VmRSS over the process tree seen in one sample. */
  readonly treeMaxBytes: number;
  /**
   * The largest sum of Pss (from /proc/PID/smaps_rollup) in one sample: RSS with shared pages
   * (the node binary, mapped by every process) divided among the processes sharing them, so it
   * adds up to what the tree really occupies. Undefined where smaps_rollup is missing.
   */
  readonly treePssMaxBytes: number | undefined;
  /** The largest VmRSS of any single process of the tree. */
  readonly processMaxBytes: number;
  /** Which process that was: 'coordinator', 'worker' or its command name. */
  readonly processMaxRole: string;
  /**
   * The largest VmRSS of a single process, per role: issue 17 bounds every process (the
   * coordinator and each worker) on its own, and a tree maximum hides which one it was.
   */
  readonly roleMaxBytes: Readonly<Record<string, number>>;
  /** The most processes seen at once. */
  readonly maxProcesses: number;
  readonly samples: number;
}

/**
 * Samples VmRSS of a process and all its descendants (found through /proc/PID/task/TID/children)
 * every `intervalMs`. rain's workers are child processes of the coordinator, so the tree sum is
 * what the whole command costs in memory. Processes that live shorter than one interval may be
 * missed; rain's live for the whole command.
 */
export class ProcessTreeRssSampler {
  private timer: NodeJS.Timeout | undefined;
  private treeMax = 0;
  private treePssMax: number | undefined;
  private processMax = 0;
  private processMaxRole = '-';
  private readonly roleMax: Record<string, number> = {};
  private maxProcesses = 0;
  private samples = 0;

  constructor(private readonly rootPid: number, private readonly includeRoot: boolean, private readonly intervalMs = 50) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): RssPeak {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    return {
      treeMaxBytes: this.treeMax,
      treePssMaxBytes: this.treePssMax,
      processMaxBytes: this.processMax,
      processMaxRole: this.processMaxRole,
      roleMaxBytes: { ...this.roleMax },
      maxProcesses: this.maxProcesses,
      samples: this.samples,
    };
  }

  private sample(): void {
    const pids = descendants(this.rootPid);
    if (this.includeRoot) pids.unshift(this.rootPid);
    let sum = 0;
    let pssSum: number | undefined = 0;
    let counted = 0;
    for (const pid of pids) {
      const rss = rssBytes(pid);
      if (rss === undefined) continue;
      counted++;
      sum += rss;
      const pss = pssBytes(pid);
      pssSum = pss === undefined || pssSum === undefined ? undefined : pssSum + pss;
      const role = roleOf(pid);
      if (rss > (this.roleMax[role] ?? 0)) this.roleMax[role] = rss;
      if (rss > this.processMax) {
        this.processMax = rss;
        this.processMaxRole = role;
      }
    }
    if (counted === 0) return;
    this.samples++;
    this.treeMax = Math.max(this.treeMax, sum);
    if (pssSum !== undefined) this.treePssMax = Math.max(this.treePssMax ?? 0, pssSum);
    this.maxProcesses = Math.max(this.maxProcesses, counted);
  }
}

function descendants(pid: number): number[] {
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift();
    if (current === undefined) break;
    for (const child of childrenOf(current)) {
      if (found.includes(child)) continue;
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const tid of tasks) {
    try {
      for (const word of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/)) {
        if (word !== '') children.push(Number(word));
      }
    } catch {
      // the thread or process ended between readdir and read
    }
  }
  return children;
}

function rssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function pssBytes(pid: number): number | undefined {
  try {
    const match = /^Pss:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function roleOf(pid: number): string {
  try {
    // rain workers rename themselves ('rain-worker slot=N PATH'), which rewrites their cmdline.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    // A process that is exiting (a zombie) has no command line left.
    if (cmdline === '') return 'exiting process';
    if (cmdline.startsWith('rain-worker') || cmdline.includes('worker-main.js')) return 'worker';
    if (/bin\/rain( |$)/.test(cmdline)) return 'coordinator';
    return (cmdline.split(' ')[0] ?? '').split('/').pop() || String(pid);
  } catch {
    return String(pid);
  }
}
