import type { BenchOptions } from './bench-options.js';
import type { MachineInfo } from './machine-info.js';
import type { NamesPool } from './names-generator.js';
import type { NamesResults } from './names-phases.js';
import { megabytesPerSecond, type Measurement } from './measurement.js';
import type { PeerReport } from './peers/peer-report.js';
import type { RainResults } from './rain-phases.js';
import type { RssSweepResults } from './rss-sweep.js';
import type { SshPhaseResults } from './ssh-phase.js';
import type { TreeResults } from './tree-phases.js';

/** Data set (a)'s floors: the same bytes as rain, plain Node file I/O, no coding. */
export interface FloorResults {
  /** put floor */
  readonly write: Measurement;
  /** informational: one fsynced file per block, as rain lays blocks out */
  readonly blockFiles: Measurement;
  /** informational: the k data block files of each stripe read into one output file */
  readonly blockFilesRead: Measurement;
  /** informational: the put floor through fs streams */
  readonly streams: Measurement;
  /** get floor */
  readonly readToFile: Measurement;
  /** informational: the k data parts read, bytes dropped */
  readonly readOnly: Measurement;
  /** verify floor: all k+m parts read */
  readonly verify: Measurement;
  /** rebuild floor: k+m-1 parts read, one written */
  readonly rebuild: Measurement;
}

export interface TreeFloorResults {
  readonly write: Measurement;
  readonly readToFile: Measurement;
  readonly verify: Measurement;
  readonly rebuild: Measurement;
}

export interface TreeSection {
  readonly files: number;
  readonly totalBytes: number;
  readonly directories: number;
  readonly seed: number;
  readonly generateSeconds: number;
  readonly floor: TreeFloorResults | undefined;
  readonly rain: TreeResults | undefined;
  /** `snapraid sync` of the same tree (issue 6: put -r "in a time comparable to SnapRAID syncing the same tree"). */
  readonly snapraidSync?: Measurement;
  /** `snapraid sync` again after one file changed (issue 18: rain's sync within 1.5x of it). */
  readonly snapraidSyncOneChanged?: Measurement;
  /** `snapraid scrub -p 100 -o 0` of the tree (issue 17: rain verify of the tree within 2x). */
  readonly snapraidScrub?: Measurement;
  /** `snapraid fix -d d1` of the tree after d1's files were deleted (issue 19: rain rebuild within 1.0x). */
  readonly snapraidFix?: Measurement;
  /** Set when the tree could not be measured (what failed). */
  readonly error: string | undefined;
}

/** Data set (c), a pool of many small files (--names N): issues 17 and 18. The pool's shape but its scratch path. */
export interface NamesSection extends Omit<NamesPool, 'root'> {
  readonly generateSeconds: number;
  readonly rain: NamesResults | undefined;
  /** Set when the pool could not be measured (what failed). */
  readonly error: string | undefined;
}

export interface BenchResults {
  readonly options: BenchOptions;
  readonly machine: MachineInfo;
  readonly storage: { readonly mode: 'tmpfs' | 'dir'; readonly description: string };
  readonly userBytes: number;
  readonly generateSeconds: number;
  readonly floor: FloorResults | undefined;
  readonly rain: RainResults | undefined;
  /** Set when rain could not be measured at all (init failed, say). */
  readonly rainError: string | undefined;
  /** undefined with --skip-tree */
  readonly tree: TreeSection | undefined;
  readonly ssh: SshPhaseResults;
  readonly peers: readonly PeerReport[];
  readonly rssSweep: RssSweepResults | { readonly skipped: string };
  /** undefined unless --names N was given */
  readonly names?: NamesSection;
  /** Problems outside the rain phases (a failing floor, a crashed phase). */
  readonly problems: readonly string[];
  readonly totalSeconds: number;
}

/** Rows during which other processes used at least this many cores on average say so. */
export const OTHER_LOAD_NOTE_CORES = 0.15;

export function isDisturbed(m: Measurement | undefined): boolean {
  return m?.otherCores !== undefined && m.otherCores >= OTHER_LOAD_NOTE_CORES;
}

/** Every timed row of the floors and rain, or of the peers. */
export function measurementsOf(r: BenchResults, which: 'floor and rain' | 'peers'): Measurement[] {
  if (which === 'peers') return r.peers.flatMap((p) => p.operations.map((o) => o.measurement));
  const tree = r.tree;
  const sweep = 'small' in r.rssSweep ? [r.rssSweep.small, r.rssSweep.large].flatMap((row) => [row.put, row.get]) : [];
  return [
    ...(r.floor ? Object.values(r.floor) : []),
    ...(r.rain ? [r.rain.put, r.rain.get, r.rain.degradedGet, r.rain.verify, r.rain.rebuild, ...(r.rain.partialCheck ? [r.rain.partialCheck] : [])] : []),
    ...(tree?.floor ? Object.values(tree.floor) : []),
    ...(tree?.rain ? [tree.rain.put, tree.rain.get, tree.rain.degradedGet, tree.rain.verify, tree.rain.rebuild] : []),
    ...(r.ssh.status === 'ran' ? [r.ssh.put, r.ssh.get] : []),
    ...sweep,
    ...namesMeasurements(r.names?.rain),
  ].filter((m) => m.notRun === undefined);
}

/** Data set (c)'s timed commands, in the order they ran. */
export function namesMeasurements(n: NamesResults | undefined): Measurement[] {
  return n ? [n.putAll, n.ls, n.sync, n.get, n.putOne, n.rm] : [];
}

/** The largest average load from other processes during the rows named. */
export function worstOtherLoad(r: BenchResults, which: 'floor and rain' | 'peers'): number | undefined {
  const loads = measurementsOf(r, which).map((m) => m.otherCores).filter((c): c is number => c !== undefined);
  return loads.length === 0 ? undefined : Math.max(...loads);
}

/** How many of those rows were disturbed. */
export function disturbedCount(r: BenchResults, which: 'floor and rain' | 'peers'): { disturbed: number; of: number } {
  const rows = measurementsOf(r, which);
  return { disturbed: rows.filter(isDisturbed).length, of: rows.length };
}

/** MB/s of one over MB/s of the other; NaN when either failed or did not run. */
export function ratio(m: Measurement | undefined, reference: Measurement | undefined): number {
  if (!m || !reference) return NaN;
  return megabytesPerSecond(m) / megabytesPerSecond(reference);
}

export function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(0)} MiB`;
}

export function human(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(bytes % 1024 ** 3 === 0 ? 0 : 2)} GiB` : mib(bytes);
}

/** Everything that went wrong, from every phase. */
export function problemsOf(r: BenchResults): string[] {
  return [
    ...r.problems,
    ...(r.rain?.problems ?? (r.rainError ? [`rain: ${r.rainError}`] : [])),
    ...(r.tree?.rain?.problems ?? []),
    ...(r.tree?.error ? [`tree: ${r.tree.error}`] : []),
    ...(r.ssh.status === 'ran' ? r.ssh.problems : []),
    ...('small' in r.rssSweep ? r.rssSweep.problems : []),
    ...(r.names?.rain?.problems ?? []),
    ...(r.names?.error ? [`names: ${r.names.error}`] : []),
  ];
}
