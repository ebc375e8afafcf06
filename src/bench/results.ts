import type { BenchOptions } from './bench-options.js';
import type { MachineInfo } from './machine-info.js';
import { megabytesPerSecond, type Measurement } from './measurement.js';
import type { PeerReport, RainOperation } from './peers/peer-report.js';
import type { RainResults } from './rain-phases.js';

export interface FloorResults {
  readonly write: Measurement;
  readonly blockFiles: Measurement;
  readonly readToFile: Measurement;
  readonly readOnly: Measurement;
}

export interface BenchResults {
  readonly options: BenchOptions;
  readonly machine: MachineInfo;
  readonly benchDir: string;
  readonly userBytes: number;
  readonly generateSeconds: number;
  readonly floor: FloorResults;
  readonly rain: RainResults | undefined;
  /** Set when rain could not be measured at all (init failed, say). */
  readonly rainError: string | undefined;
  readonly peers: readonly PeerReport[];
  readonly totalSeconds: number;
}

export const RSS_TARGET_BYTES = 300 * 1024 * 1024;
export const THROUGHPUT_TARGET_RATIO = 0.4;
/** Rows during which other processes used at least this many cores on average say so. */
export const OTHER_LOAD_NOTE_CORES = 0.15;

/** The timed rows of the floor and rain, or of the peers. */
export function measurementsOf(r: BenchResults, which: 'floor and rain' | 'peers'): Measurement[] {
  if (which === 'peers') return r.peers.flatMap((p) => p.operations.map((o) => o.measurement));
  return [
    r.floor.write, r.floor.blockFiles, r.floor.readToFile, r.floor.readOnly,
    ...(r.rain ? [r.rain.put, r.rain.get, r.rain.degradedGet, r.rain.verify, r.rain.rebuild] : []),
  ];
}

/** The largest average load from other processes during any of those rows. */
export function worstOtherLoad(r: BenchResults, which: 'floor and rain' | 'peers'): number | undefined {
  const loads = measurementsOf(r, which).map((m) => m.otherCores).filter((c): c is number => c !== undefined);
  return loads.length === 0 ? undefined : Math.max(...loads);
}

export interface Table {
  readonly head: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export function formatRate(m: Measurement): string {
  const rate = megabytesPerSecond(m);
  return Number.isFinite(rate) ? rate.toFixed(rate >= 100 ? 0 : 1) : 'failed';
}

export function ratio(m: Measurement, reference: Measurement): number {
  return megabytesPerSecond(m) / megabytesPerSecond(reference);
}

function formatRatio(value: number, of: string): string {
  return Number.isFinite(value) ? `${value.toFixed(2)} of ${of}` : '-';
}

export function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(0)} MiB`;
}

/** Average cores busy over the wall time, from the tree's user + system CPU time. */
function cpuNote(m: Measurement): string | undefined {
  if (!m.cpu || !m.ok) return undefined;
  const cpu = m.cpu.userSeconds + m.cpu.systemSeconds;
  return `CPU ${cpu.toFixed(1)} s (user ${m.cpu.userSeconds.toFixed(1)} + sys ${m.cpu.systemSeconds.toFixed(1)}), ${(cpu / m.seconds).toFixed(2)} cores busy`;
}

function notesOf(m: Measurement, withCpu: boolean): string {
  const notes = [...m.notes];
  if (withCpu) {
    const cpu = cpuNote(m);
    if (cpu) notes.push(cpu);
  }
  if (!m.cacheDropped) notes.push('warm cache');
  if (m.otherCores !== undefined && m.otherCores >= OTHER_LOAD_NOTE_CORES) notes.push(`DISTURBED: other processes used ${m.otherCores.toFixed(2)} cores meanwhile`);
  return notes.join('; ');
}

function row(m: Measurement, ratioText: string, withCpu = false): string[] {
  return [m.label, formatRate(m), ratioText, notesOf(m, withCpu)];
}

export function mainTable(r: BenchResults): Table {
  const { write, blockFiles, readToFile, readOnly } = r.floor;
  const rows: string[][] = [
    row(write, '1.00 (write floor)', true),
    row(blockFiles, formatRatio(ratio(blockFiles, write), 'write floor'), true),
    row(readToFile, '1.00 (read floor)', true),
    row(readOnly, formatRatio(ratio(readOnly, readToFile), 'read floor'), true),
  ];
  if (r.rain) {
    const { put, get, degradedGet, verify, rebuild } = r.rain;
    rows.push(
      row(put, formatRatio(ratio(put, write), 'write floor'), true),
      row(get, formatRatio(ratio(get, readToFile), 'read floor'), true),
      row(degradedGet, formatRatio(ratio(degradedGet, readToFile), 'read floor'), true),
      row(verify, formatRatio(ratio(verify, readOnly), 'read-only floor'), true),
      row(rebuild, formatRatio(ratio(rebuild, readOnly), 'read-only floor'), true),
    );
  } else {
    rows.push(['rain', 'failed', '-', r.rainError ?? 'not run']);
  }
  return { head: ['operation', 'MB/s', 'ratio to the floor', 'notes'], rows };
}

export function memoryTable(r: BenchResults): Table {
  const rows: string[][] = [];
  if (r.rain) {
    for (const m of [r.rain.put, r.rain.get, r.rain.degradedGet, r.rain.verify, r.rain.rebuild]) {
      if (!m.rss) continue;
      rows.push([
        m.label, mib(m.rss.treeMaxBytes), m.rss.treePssMaxBytes === undefined ? '-' : mib(m.rss.treePssMaxBytes),
        `${mib(m.rss.processMaxBytes)} (${m.rss.processMaxRole})`, String(m.rss.maxProcesses), String(m.rss.samples),
      ]);
    }
  }
  return { head: ['operation', 'peak RSS, tree sum', 'peak PSS, tree sum', 'peak RSS, largest process', 'processes', 'samples'], rows };
}

export function targetsTable(r: BenchResults): Table {
  if (!r.rain) return { head: ['target', 'measured', 'verdict'], rows: [['all', 'rain did not run', 'not met']] };
  const verdict = (met: boolean): string => (met ? 'met' : 'NOT MET');
  const putRatio = ratio(r.rain.put, r.floor.write);
  const getRatio = ratio(r.rain.get, r.floor.readToFile);
  const strictPut = ratio(r.rain.put, r.floor.blockFiles);
  const rows: string[][] = [
    [`put >= ${THROUGHPUT_TARGET_RATIO.toFixed(2)} of the write floor`, Number.isFinite(putRatio) ? putRatio.toFixed(2) : 'failed', verdict(putRatio >= THROUGHPUT_TARGET_RATIO)],
    [`get >= ${THROUGHPUT_TARGET_RATIO.toFixed(2)} of the read floor`, Number.isFinite(getRatio) ? getRatio.toFixed(2) : 'failed', verdict(getRatio >= THROUGHPUT_TARGET_RATIO)],
    [`(informational) put >= ${THROUGHPUT_TARGET_RATIO.toFixed(2)} of the block-file floor`, Number.isFinite(strictPut) ? strictPut.toFixed(2) : 'failed',
      `${strictPut >= THROUGHPUT_TARGET_RATIO ? 'would be met' : 'would not be met'}${ratio(r.floor.blockFiles, r.floor.write) > 1 ? ' (this floor was the faster write floor here)' : ''}`],
  ];
  for (const m of [r.rain.put, r.rain.get]) {
    if (!m.rss) continue;
    const pss = m.rss.treePssMaxBytes === undefined ? '' : ` (PSS sum ${mib(m.rss.treePssMaxBytes)}: ${m.rss.treePssMaxBytes < RSS_TARGET_BYTES ? 'under' : 'over'})`;
    rows.push([`${m.label}: peak RSS (tree sum) < ${mib(RSS_TARGET_BYTES)}`, `${mib(m.rss.treeMaxBytes)}${pss}`, verdict(m.rss.treeMaxBytes < RSS_TARGET_BYTES)]);
  }
  return { head: ['target', 'measured', 'verdict'], rows };
}

const RAIN_LABEL: Record<RainOperation, string> = { put: 'put', get: 'get', degradedGet: 'degraded get', verify: 'verify', rebuild: 'rebuild' };

export function peersTable(r: BenchResults): Table {
  const rows: string[][] = [];
  for (const peer of r.peers) {
    if (peer.operations.length === 0) {
      rows.push([peer.name, '-', '-', '-', peer.message ?? peer.status]);
      continue;
    }
    for (const op of peer.operations) {
      const rainOp = r.rain?.[op.comparesTo];
      const value = rainOp ? ratio(op.measurement, rainOp) : NaN;
      const cpu = cpuNote(op.measurement);
      rows.push([
        peer.name, op.measurement.label, formatRate(op.measurement),
        Number.isFinite(value) ? `${value.toFixed(2)}x rain ${RAIN_LABEL[op.comparesTo]}` : '-',
        [notesOf(op.measurement, false), cpu].filter((n) => n !== undefined && n !== '').join('; '),
      ]);
    }
  }
  return { head: ['peer', 'operation', 'MB/s', 'ratio to rain', 'notes'], rows };
}

export function renderText(table: Table): string {
  const widths = table.head.map((h, c) => Math.max(h.length, ...table.rows.map((r) => (r[c] ?? '').length)));
  // The last column (notes) is left unpadded so long notes do not widen every line.
  const line = (cells: readonly string[]): string => cells.map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c]))).join(' | ').trimEnd();
  return [line(table.head), widths.map((w, c) => '-'.repeat(c === widths.length - 1 ? Math.min(w, 40) : w)).join('-+-'), ...table.rows.map(line)].join('\n');
}

export function renderMarkdown(table: Table): string {
  const escape = (cell: string): string => cell.replace(/\|/g, '\\|');
  const line = (cells: readonly string[]): string => `| ${cells.map(escape).join(' | ')} |`;
  return [line(table.head), `|${table.head.map(() => ' --- ').join('|')}|`, ...table.rows.map(line)].join('\n');
}
