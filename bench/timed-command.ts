import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { onCleanup } from './cleanup.js';
import { ProcessTreeRssSampler, type RssPeak } from './process-tree-rss.js';

const GNU_TIME = '/usr/bin/time';
const OUTPUT_LIMIT_BYTES = 256 * 1024;

export interface CpuUsage {
  /** User + system CPU seconds of the command and every child it waited for (workers included). */
  readonly userSeconds: number;
  readonly systemSeconds: number;
}

export interface CommandRun {
  readonly commandLine: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly wallSeconds: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly cpu: CpuUsage | undefined;
  readonly rss: RssPeak | undefined;
  /** When the first newline came on stdout (from spawn) and the line it ended; undefined if none came. */
  readonly firstStdoutLine: { readonly seconds: number; readonly text: string } | undefined;
  /** The first two lines so (a listing's first may be its header). */
  readonly firstStdoutLines: readonly { readonly seconds: number; readonly text: string }[];
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly sampleRss?: boolean;
  /**
   * Receives every stdout chunk (a get to stdout is hashed here, nothing kept); the tail kept for
   * error messages then stays empty.
   */
  readonly onStdout?: (chunk: Buffer) => void;
}

/**
 * Runs a command and measures its wall time from spawn to exit. When GNU time is installed the
 * command runs under it, which adds the CPU time of the whole tree (children that were waited for
 * count), at the cost of one tiny extra process that the RSS sampler leaves out.
 */
export async function runTimed(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandRun> {
  const withTime = existsSync(GNU_TIME);
  const timeFile = path.join(os.tmpdir(), `rain-bench-time-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  // Removed below when the command ends; the cleanup covers an interrupted bench.
  const forgetTimeFile = withTime ? onCleanup(`rm ${timeFile}`, () => fs.rm(timeFile, { force: true })) : () => undefined;
  const argv = withTime ? ['-f', '%U %S', '-o', timeFile, command, ...args] : [...args];
  const started = process.hrtime.bigint();
  const child = spawn(withTime ? GNU_TIME : command, argv, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout = new TailBuffer();
  const stderr = new TailBuffer();
  const onStdout = options.onStdout;
  const firstLine = new FirstLineWatch(started);
  child.stdout.on('data', (chunk: Buffer) => {
    firstLine.add(chunk);
    if (onStdout) onStdout(chunk);
    else stdout.add(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => stderr.add(chunk));
  let sampler: ProcessTreeRssSampler | undefined;
  if (options.sampleRss && child.pid !== undefined) {
    // Under GNU time the tree to measure is time's child, not time itself.
    sampler = new ProcessTreeRssSampler(child.pid, !withTime);
    sampler.start();
  }
  const outcome = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('error', (error) => {
      stderr.add(Buffer.from(`spawn failed: ${error.message}\n`));
      resolve({ code: null, signal: null });
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rss = sampler?.stop();
  let cpu: CpuUsage | undefined;
  if (withTime) {
    const text = await fs.readFile(timeFile, 'utf8').catch(() => '');
    await fs.rm(timeFile, { force: true });
    forgetTimeFile();
    const match = /^([\d.]+) ([\d.]+)\s*$/m.exec(text);
    if (match) cpu = { userSeconds: Number(match[1]), systemSeconds: Number(match[2]) };
    // GNU time exits 127 when the command cannot be run, and reports a signal in its text.
    const killed = /Command terminated by signal (\d+)/.exec(text);
    if (killed) return finish(outcome.code, `signal ${killed[1]}`);
  }
  return finish(outcome.code, outcome.signal);

  function finish(exitCode: number | null, signal: string | null): CommandRun {
    return {
      commandLine: [command, ...args].join(' '),
      exitCode,
      signal,
      wallSeconds,
      stdout: stdout.text(),
      stderr: stderr.text(),
      cpu,
      rss,
      firstStdoutLine: firstLine.line,
      firstStdoutLines: firstLine.lines,
    };
  }
}

/** The time of the first newline on a stream ('ls streams its first line within 1 s'). */
class FirstLineWatch {
  /** The first two lines and when each ended: a listing's first line may be its column header. */
  readonly lines: { seconds: number; text: string }[] = [];
  private head = '';

  constructor(private readonly startedNs: bigint) {}

  get line(): { seconds: number; text: string } | undefined {
    return this.lines[0];
  }

  add(chunk: Buffer): void {
    const seconds = Number(process.hrtime.bigint() - this.startedNs) / 1e9;
    let from = 0;
    while (this.lines.length < FIRST_LINES_KEPT && from < chunk.length) {
      const newline = chunk.indexOf(10, from);
      const end = newline < 0 ? chunk.length : newline;
      // Only a line's first 200 characters are kept: it is for the report, not for parsing.
      if (this.head.length < 200) this.head += chunk.subarray(from, Math.min(end, from + 200)).toString('utf8');
      if (newline < 0) return;
      this.lines.push({ seconds, text: this.head.slice(0, 200).trimEnd() });
      this.head = '';
      from = newline + 1;
    }
  }
}

const FIRST_LINES_KEPT = 2;

/** Keeps the last OUTPUT_LIMIT_BYTES of a stream (progress-heavy tools print a lot). */
class TailBuffer {
  private chunks: Buffer[] = [];
  private bytes = 0;

  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes > OUTPUT_LIMIT_BYTES && this.chunks.length > 1) {
      const dropped = this.chunks.shift();
      this.bytes -= dropped?.length ?? 0;
    }
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** The last non-empty lines of a command's output, for error messages. */
export function lastLines(text: string, count = 3): string {
  return text.split(/\r?\n|\r/).map((l) => l.trim()).filter((l) => l !== '').slice(-count).join(' | ');
}

export function describeFailure(run: CommandRun): string {
  const how = run.signal ? `killed by ${run.signal}` : `exit ${run.exitCode ?? '?'}`;
  const detail = lastLines(run.stderr) || lastLines(run.stdout);
  return `${run.commandLine.split(' ').slice(0, 3).join(' ')} ... ${how}${detail ? `: ${detail}` : ''}`;
}
