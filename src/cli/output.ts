import { Chalk, type ChalkInstance } from 'chalk';
import { createRequire } from 'node:module';
import type TableConstructor from 'cli-table3';
import type { Ora } from 'ora';
import { exitCodeOfError, messageOfError, type ExitCodeValue } from './exit-codes.js';

export interface OutputFlags {
  readonly json?: boolean;
  readonly quiet?: boolean;
  /** Reports list every troubled file and its details, not a summary (commands with reports take --verbose). */
  readonly verbose?: boolean;
}

/**
 * Everything a command prints goes through here, so cron-safety is decided once: colour and
 * spinners only when stdout is a terminal and NO_COLOR is unset; box-drawn tables only on a
 * terminal (a mail from cron or a pipe into grep gets plain columns); --json prints exactly one
 * document on stdout (also on failure); --quiet prints nothing on success, and only the problems
 * (alerts) and errors otherwise.
 */
export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  /** stdout is a terminal: tables may be drawn with box characters. */
  readonly tty: boolean;
  readonly interactive: boolean;
  readonly color: ChalkInstance;
  private spinner: Ora | undefined;
  private stopSpinner: (() => void) | undefined;

  constructor(flags: OutputFlags) {
    this.json = flags.json === true;
    this.quiet = flags.quiet === true;
    this.verbose = flags.verbose === true;
    const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
    this.tty = process.stdout.isTTY === true;
    this.interactive = this.tty && !noColor;
    this.color = new Chalk({ level: this.interactive ? 1 : 0 });
  }

  /** Human lines on stdout (suppressed by --json and --quiet). */
  line(text = ''): void {
    if (!this.json && !this.quiet) process.stdout.write(`${text}\n`);
  }

  /** A problem line of a report: printed with --quiet too (a cron job with --quiet mails only these), never with --json. */
  alert(text: string): void {
    if (!this.json) process.stdout.write(`${text}\n`);
  }

  /** Notices that belong on stderr even when stdout carries data (a degraded read, say). */
  notice(text: string): void {
    if (!this.quiet) process.stderr.write(`rain: ${text}\n`);
  }

  /** An error about one item of many that does not end the command (shown even with --quiet, as errors are). */
  problem(text: string): void {
    process.stderr.write(`rain: ${text}\n`);
  }

  document(doc: object): void {
    if (this.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  }

  table(head: string[], rows: (string | number)[][]): void {
    if (this.json || this.quiet) return;
    const cells = rows.map((row) => row.map(String));
    const lines = this.tty ? boxTable(head.map((h) => this.color.bold(h)), cells) : plainTable(head, cells);
    // One write per slice of lines: a table of 100,000 rows is not one 10 MB string.
    for (let i = 0; i < lines.length; i += 1024) process.stdout.write(`${lines.slice(i, i + 1024).join('\n')}\n`);
  }

  /** Progress on stderr for people at a terminal; silent in pipes, cron and --json. */
  progress(label: string): (doneBytes: number, totalBytes: number, phase?: string) => void {
    const canSpin = this.interactive && !this.json && !this.quiet && process.stderr.isTTY === true && (process.stderr.columns ?? 0) > 0;
    if (!canSpin) return () => undefined;
    // ora is loaded only here: it is most of a command's start-up cost, and cron never spins.
    let text = label;
    let stopped = false;
    this.stopSpinner = () => { stopped = true; };
    void import('ora').then(({ default: ora }) => {
      if (stopped) return;
      const spinner = ora({ text, stream: process.stderr, discardStdin: false }).start();
      this.spinner = spinner;
      this.stopSpinner = () => { stopped = true; spinner.stop(); };
    }, () => undefined);
    let lastUpdate = 0;
    // The rate counts from the first bytes reported: the workers' start-up is not transfer time.
    let first: { atMs: number; doneBytes: number } | undefined;
    return (done, total, phase) => {
      if (stopped) return;
      const now = Date.now();
      if (phase !== undefined) {
        text = `${label}: ${phase}`;
      } else {
        first ??= { atMs: now, doneBytes: 0 };
        if (now - lastUpdate < 100) return;
        lastUpdate = now;
        text = progressText(label, done, total, now - first.atMs, done - first.doneBytes);
      }
      if (this.spinner) this.spinner.text = text;
    };
  }

  stopProgress(): void {
    this.stopSpinner?.();
    this.stopSpinner = undefined;
    this.spinner = undefined;
  }

  /** Prints an error as one line (and as the JSON document with --json) and returns its exit code. */
  fail(error: unknown): ExitCodeValue {
    this.stopProgress();
    const exitCode = exitCodeOfError(error);
    const message = messageOfError(error);
    process.stderr.write(`rain: ${message}\n`);
    if (this.json) process.stdout.write(`${JSON.stringify({ ok: false, exitCode, error: message }, null, 2)}\n`);
    return exitCode;
  }
}

/**
 * A progress line: a bar, the percentage, bytes done of the total, the rate so far (`movedBytes`
 * in `elapsedMs`) and the time left at that rate ("verifying [#######.............] 35% 12.0 MiB of 34.3 MiB, 81.2 MB/s, ETA 0:03").
 */
export function progressText(label: string, doneBytes: number, totalBytes: number, elapsedMs: number, movedBytes = doneBytes): string {
  const fraction = totalBytes > 0 ? Math.min(1, doneBytes / totalBytes) : 1;
  const width = 20;
  const filled = Math.round(fraction * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  const rateBytesPerMs = elapsedMs > 0 ? movedBytes / elapsedMs : 0;
  const eta = rateBytesPerMs > 0 && doneBytes < totalBytes ? `, ETA ${formatDuration((totalBytes - doneBytes) / rateBytesPerMs)}` : '';
  return `${label} ${bar} ${Math.floor(fraction * 100)}% ${formatBytes(doneBytes)} of ${formatBytes(totalBytes)}, ${formatRate(movedBytes, elapsedMs)}${eta}`;
}

/** "0:07", "12:30", "2:05:00". */
export function formatDuration(milliseconds: number): string {
  const total = Math.max(0, Math.round(milliseconds / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/**
 * A table as plain whitespace-aligned columns (two spaces apart, no trailing blanks): what cron
 * mails and grep/awk read. Nothing but the cells' own characters and spaces.
 */
export function plainTable(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const all = [head, ...rows];
  // A reduce, not Math.max(...): a spread of more than ~125,000 rows exceeds V8's argument limit.
  const widths = head.map((_, column) => all.reduce((widest, row) => Math.max(widest, (row[column] ?? '').length), 0));
  return all.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join('  ').trimEnd());
}

/**
 * A table drawn with box characters by cli-table3 (for a terminal).
 * cli-table3 lays a table out in time quadratic in its rows (every cell is checked against every
 * row above it for spans): 8,000 rows took 7 s, so `ls` of 100,000 files would take an hour.
 * Slices of rows are laid out with the widest slice's column widths and joined into one table.
 */
export function boxTable(head: readonly string[], cells: readonly string[][]): string[] {
  const Table = loadTable();
  // cli-table3 colours by itself whenever TERM looks capable, even into a file: colour is ours alone.
  const render = (slice: readonly string[][], withHead: boolean, colWidths?: number[]) => {
    const table = new Table({
      head: withHead ? [...head] : [], style: { head: [], border: [], compact: true }, ...(colWidths ? { colWidths } : {}),
    });
    table.push(...slice);
    return { text: table.toString(), widths: table.options.colWidths };
  };
  const slices: (readonly string[][])[] = [];
  for (let i = 0; i < Math.max(cells.length, 1); i += TABLE_SLICE_ROWS) slices.push(cells.slice(i, i + TABLE_SLICE_ROWS));
  const colWidths: number[] = [];
  for (const [i, slice] of slices.entries()) {
    // The head's widths count once, with the first slice.
    render(slice, i === 0).widths.forEach((width, column) => { colWidths[column] = Math.max(colWidths[column] ?? 0, width ?? 0); });
  }
  const out: string[] = [];
  slices.forEach((slice, i) => {
    const lines = render(slice, i === 0, colWidths).text.split('\n');
    // Each slice is a whole table: keep the first one's top border and the last one's bottom border only.
    out.push(...lines.slice(i === 0 ? 0 : 1, i === slices.length - 1 ? lines.length : -1));
  });
  return out;
}

/** cli-table3 (CommonJS) is loaded on the first table, so commands that print none skip its cost. */
let tableConstructor: typeof TableConstructor | undefined;
/** Rows laid out by cli-table3 at a time (see boxTable). */
const TABLE_SLICE_ROWS = 32;

function loadTable(): typeof TableConstructor {
  tableConstructor ??= createRequire(import.meta.url)('cli-table3') as typeof TableConstructor;
  return tableConstructor;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatRate(bytes: number, milliseconds: number): string {
  if (milliseconds <= 0) return '-';
  return `${((bytes / 1e6) / (milliseconds / 1000)).toFixed(1)} MB/s`;
}
