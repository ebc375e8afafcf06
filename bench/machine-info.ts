import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  readonly date: string;
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly filesystem: string;
  readonly kernel: string;
  readonly node: string;
  /** 1, 5 and 15 minute load averages when the bench started. */
  readonly loadAverage: readonly number[];
}

export function describeMachine(benchDir: string): MachineInfo {
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cores: os.availableParallelism(),
    cpuModel: cpuModel(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    filesystem: filesystemOf(benchDir),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) return match[1].trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

/** `df -T DIR`: device, type, size and where it is mounted. */
function filesystemOf(dir: string): string {
  try {
    const lines = execFileSync('df', ['-T', '-h', dir], { encoding: 'utf8' }).trim().split('\n');
    const fields = (lines[lines.length - 1] ?? '').split(/\s+/);
    if (fields.length >= 7) return `${fields[1]} on ${fields[0]} (${fields[2]}, mounted on ${fields[6]})`;
  } catch {
    // df missing
  }
  return 'unknown';
}
