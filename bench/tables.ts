import { megabytesPerSecond, type Measurement } from './measurement.js';
import type { RainOperation } from './peers/peer-report.js';
import { human, isDisturbed, mib, namesMeasurements, ratio, type BenchResults } from './results.js';

export interface Table {
  readonly head: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export function formatRate(m: Measurement): string {
  if (m.notRun !== undefined) return 'not run';
  const rate = megabytesPerSecond(m);
  return Number.isFinite(rate) ? rate.toFixed(rate >= 100 ? 0 : 1) : 'failed';
}

export function formatRatio(value: number, of?: string): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}${of ? ` of ${of}` : ''}` : '-';
}

/** Average cores busy over the wall time, from the tree's user + system CPU time. */
export function cpuNote(m: Measurement): string | undefined {
  if (!m.cpu || !m.ok) return undefined;
  const cpu = m.cpu.userSeconds + m.cpu.systemSeconds;
  return `CPU ${cpu.toFixed(1)} s (user ${m.cpu.userSeconds.toFixed(1)} + sys ${m.cpu.systemSeconds.toFixed(1)}), ${(cpu / m.seconds).toFixed(2)} cores busy`;
}

export function notesOf(m: Measurement, withCpu = true, withSeconds = true): string {
  const notes = m.notRun !== undefined ? [m.notRun] : [...m.notes];
  if (m.notRun === undefined) {
    if (m.ok && withSeconds) notes.push(`${m.seconds.toFixed(1)} s`);
    const cpu = withCpu ? cpuNote(m) : undefined;
    if (cpu) notes.push(cpu);
    if (!m.cacheDropped) notes.push('warm cache');
    if (isDisturbed(m)) notes.push(`DISTURBED: other processes used ${(m.otherCores ?? 0).toFixed(2)} cores meanwhile`);
  }
  return notes.join('; ');
}

function row(m: Measurement, ratioText: string): string[] {
  return [m.label, formatRate(m), ratioText, notesOf(m)];
}

const HEAD = ['operation', 'MB/s', 'ratio to its floor', 'notes'];

/** Data set (a): the floors, then rain's operations each against its floor. */
export function mainTable(r: BenchResults): Table {
  const rows: string[][] = [];
  const f = r.floor;
  if (f) {
    rows.push(
      row(f.write, '1.00 (put floor)'),
      row(f.blockFiles, `${formatRatio(ratio(f.blockFiles, f.write), 'put floor')} (informational)`),
      row(f.streams, `${formatRatio(ratio(f.streams, f.write), 'put floor')} (informational)`),
      row(f.readToFile, '1.00 (get floor)'),
      row(f.blockFilesRead, `${formatRatio(ratio(f.blockFilesRead, f.readToFile), 'get floor')} (informational)`),
      row(f.readOnly, `${formatRatio(ratio(f.readOnly, f.readToFile), 'get floor')} (informational)`),
      row(f.verify, '1.00 (verify floor)'),
      row(f.rebuild, '1.00 (rebuild floor)'),
    );
  }
  if (r.rain) {
    const { put, get, degradedGet, verify, rebuild } = r.rain;
    rows.push(
      row(put, formatRatio(ratio(put, f?.write), 'put floor')),
      row(get, formatRatio(ratio(get, f?.readToFile), 'get floor')),
      row(degradedGet, formatRatio(ratio(degradedGet, f?.readToFile), 'get floor')),
      row(verify, formatRatio(ratio(verify, f?.verify), 'verify floor')),
      row(rebuild, formatRatio(ratio(rebuild, f?.rebuild), 'rebuild floor')),
    );
    const partial = r.rain.partialCheck;
    if (partial) rows.push(row(partial, partial.blocksShare === undefined ? '-' : `${(partial.blocksShare * 100).toFixed(2)}% of the blocks (target 5 +/- 1)`));
  } else {
    rows.push(['rain', 'failed', '-', r.rainError ?? 'not run']);
  }
  return { head: HEAD, rows };
}

/** Data set (b), the small-file tree. */
export function treeTable(r: BenchResults): Table {
  const t = r.tree;
  if (!t) return { head: HEAD, rows: [['tree', 'not run', '-', '--skip-tree']] };
  const rows: string[][] = [];
  const f = t.floor;
  if (f) {
    rows.push(
      row(f.write, '1.00 (put floor)'),
      row(f.readToFile, '1.00 (get floor)'),
      row(f.verify, '1.00 (verify floor)'),
      row(f.rebuild, '1.00 (rebuild floor)'),
    );
  }
  if (t.rain) {
    const { put, get, degradedGet, verify, rebuild } = t.rain;
    rows.push(
      row(put, formatRatio(ratio(put, f?.write), 'put floor')),
      row(get, formatRatio(ratio(get, f?.readToFile), 'get floor')),
      row(degradedGet, formatRatio(ratio(degradedGet, f?.readToFile), 'get floor')),
      row(verify, formatRatio(ratio(verify, f?.verify), 'verify floor')),
      row(rebuild, formatRatio(ratio(rebuild, f?.rebuild), 'rebuild floor')),
    );
  } else {
    rows.push(['rain (tree)', 'failed', '-', t.error ?? 'not run']);
  }
  if (t.snapraidSync) {
    const put = t.rain?.put;
    const times = put?.ok && t.snapraidSync.ok ? `rain put -r takes ${(put.seconds / t.snapraidSync.seconds).toFixed(2)}x its time` : '-';
    rows.push(row(t.snapraidSync, times));
  }
  if (t.rain) rows.push(row(t.rain.syncOneChanged, '-'));
  if (t.snapraidSyncOneChanged) {
    const sync = t.rain?.syncOneChanged;
    const times = sync?.ok && t.snapraidSyncOneChanged.ok ? `rain sync takes ${(sync.seconds / t.snapraidSyncOneChanged.seconds).toFixed(2)}x its time (target 1.5x)` : '-';
    rows.push(row(t.snapraidSyncOneChanged, times));
  }
  for (const [peer, mine, what, target] of [
    [t.snapraidScrub, t.rain?.verify, 'verify', '2x'],
    [t.snapraidFix, t.rain?.rebuild, 'rebuild', '1.0x'],
  ] as const) {
    if (!peer) continue;
    const times = mine?.ok && peer.ok ? `rain ${what} takes ${(mine.seconds / peer.seconds).toFixed(2)}x its time (target ${target})` : '-';
    rows.push(row(peer, times));
  }
  return { head: HEAD, rows };
}

/** The largest VmRSS of one process of a role ('coordinator', 'worker'), as a table cell. */
export function rolePeak(m: Measurement, role: string): string {
  const bytes = m.rss?.roleMaxBytes[role];
  return bytes === undefined ? '-' : mib(bytes);
}

/** Data set (c), the pool of many small files: each command's wall time and its processes' peaks. */
export function namesTable(r: BenchResults): Table {
  const head = ['operation', 'seconds', 'first line', 'peak RSS, coordinator', 'peak RSS, largest worker', 'peak PSS, tree sum', 'notes'];
  const n = r.names;
  if (!n) return { head, rows: [['pool of small files', '-', '-', '-', '-', '-', 'not run (--names 0)']] };
  if (!n.rain) return { head, rows: [['pool of small files', 'failed', '-', '-', '-', '-', n.error ?? 'not run']] };
  const ls = n.rain.ls;
  return {
    head,
    rows: namesMeasurements(n.rain).map((m) => [
      m.label,
      m.ok ? m.seconds.toFixed(2) : m.notRun !== undefined ? 'not run' : 'failed',
      m === ls && ls.firstLineSeconds !== undefined ? ls.firstLineSeconds.toFixed(2) : '-',
      rolePeak(m, 'coordinator'),
      rolePeak(m, 'worker'),
      m.rss?.treePssMaxBytes === undefined ? '-' : mib(m.rss.treePssMaxBytes),
      notesOf(m, true, false),
    ]),
  };
}

/** rain over ssh:// stores next to the same operation on the local directories. */
export function sshTable(r: BenchResults): Table {
  const head = ['operation', 'MB/s', 'ratio to local', 'notes'];
  if (r.ssh.status === 'skipped') return { head, rows: [['rain over ssh:// stores', 'not run', '-', r.ssh.reason]] };
  return {
    head,
    rows: [
      row(r.ssh.put, formatRatio(ratio(r.ssh.put, r.rain?.put), 'local put')),
      row(r.ssh.get, formatRatio(ratio(r.ssh.get, r.rain?.get), 'local get')),
    ],
  };
}

/** Peak memory of every rain command tree measured. */
export function memoryTable(r: BenchResults): Table {
  const measured: Measurement[] = [
    ...(r.rain ? [r.rain.put, r.rain.get, r.rain.degradedGet, r.rain.verify, r.rain.rebuild] : []),
    ...(r.tree?.rain ? [r.tree.rain.put, r.tree.rain.get, r.tree.rain.degradedGet, r.tree.rain.verify, r.tree.rain.rebuild] : []),
    ...(r.ssh.status === 'ran' ? [r.ssh.put, r.ssh.get] : []),
    ...('small' in r.rssSweep ? [r.rssSweep.small.put, r.rssSweep.large.put, r.rssSweep.small.get, r.rssSweep.large.get] : []),
  ];
  const rows: string[][] = [];
  for (const m of measured) {
    if (!m.rss) continue;
    rows.push([
      m.label, mib(m.rss.treeMaxBytes), m.rss.treePssMaxBytes === undefined ? '-' : mib(m.rss.treePssMaxBytes),
      `${mib(m.rss.processMaxBytes)} (${m.rss.processMaxRole})`, String(m.rss.maxProcesses), String(m.rss.samples),
    ]);
  }
  return { head: ['operation', 'peak RSS, tree sum', 'peak PSS, tree sum', 'peak RSS, largest process', 'processes', 'samples'], rows };
}

/** The RSS sweep: peak RSS of put and get, small file against large file. */
export function rssSweepTable(r: BenchResults): Table {
  const head = ['operation', 'small file', 'large file', 'large / small', 'notes'];
  const s = r.rssSweep;
  if (!('small' in s)) return { head, rows: [['rss sweep', '-', '-', '-', s.skipped]] };
  const rows: string[][] = [];
  for (const op of ['put', 'get'] as const) {
    const small = s.small[op];
    const large = s.large[op];
    const a = small.rss?.treeMaxBytes;
    const b = large.rss?.treeMaxBytes;
    const pssA = small.rss?.treePssMaxBytes;
    const pssB = large.rss?.treePssMaxBytes;
    rows.push([
      `rain ${op}, peak RSS (tree sum)`,
      a !== undefined && small.ok ? `${mib(a)} (${human(s.small.sizeBytes)})` : 'failed',
      b !== undefined && large.ok ? `${mib(b)} (${human(s.large.sizeBytes)})` : 'failed',
      a !== undefined && b !== undefined && small.ok && large.ok ? (b / a).toFixed(2) : '-',
      [
        pssA !== undefined && pssB !== undefined ? `PSS sum ${mib(pssA)} -> ${mib(pssB)}` : '',
        `${formatRate(small)} -> ${formatRate(large)} MB/s`,
        ...large.notes,
        isDisturbed(small) || isDisturbed(large) ? 'DISTURBED' : '',
      ].filter((n) => n !== '').join('; '),
    ]);
  }
  return { head, rows };
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
      const value = ratio(op.measurement, rainOp);
      rows.push([
        peer.name, op.measurement.label, formatRate(op.measurement),
        Number.isFinite(value) ? `${value.toFixed(2)}x rain ${RAIN_LABEL[op.comparesTo]}` : '-',
        notesOf(op.measurement),
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
