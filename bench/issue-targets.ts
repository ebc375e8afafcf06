import { NAMES_TARGET_FILES } from './bench-options.js';
import type { Measurement } from './measurement.js';
import { isDisturbed, mib, namesMeasurements, type BenchResults, type NamesSection } from './results.js';
import type { Table } from './tables.js';
import { fmt, judged, verdictTable, type TargetRow } from './targets.js';

/**
 * The targets of issues 17 (millions of files), 18 (trees) and 19 (operating a pool) that this
 * run can judge: each a ratio of two rows of the same run, or a count; and the 1,000,000-file rows
 * of issues 17 and 18, absolute times and sizes measured on data set (c) (--names N).
 */
export const ISSUE_TARGETS = {
  treePutOverSnapraidSync: 1.0,
  treeVerifyOverSnapraidScrub: 2.0,
  inodesPerFilePerStore: 0.1,
  treeSyncOneChangedOverSnapraid: 1.5,
  rebuildOverSnapraidFix: 1.0,
  verifyOverSnapraidScrub: 1.5,
  partialCheckPercent: 5,
  partialCheckTolerancePercent: 1,
  namesLsFirstLineSeconds: 1,
  namesLsSeconds: 15,
  namesOneFileSeconds: 0.5,
  namesProcessRssBytes: 300 * 1024 * 1024,
  namesSyncUnchangedSeconds: 60,
} as const;

function peerOperation(r: BenchResults, comparesTo: string): Measurement | undefined {
  return r.peers.find((p) => p.name === 'snapraid')?.operations.find((o) => o.comparesTo === comparesTo && o.measurement.ok)?.measurement;
}

function timeRatio(rows: TargetRow[], name: string, mine: Measurement | undefined, peer: Measurement | undefined, max: number, peerName: string): void {
  if (!mine?.ok || !peer?.ok) {
    const why = !peer ? `${peerName} did not run` : !peer.ok ? `${peerName} failed` : mine ? 'rain failed' : 'rain row not run';
    rows.push({ target: name, measured: why, met: undefined, disturbed: false });
    return;
  }
  const value = mine.seconds / peer.seconds;
  rows.push(judged(name, value, (v) => v <= max, `${fmt(value)}x (rain ${mine.seconds.toFixed(2)} s, ${peerName} ${peer.seconds.toFixed(2)} s)`, [mine, peer]));
}

export function issueTargetRows(r: BenchResults): TargetRow[] {
  const t = ISSUE_TARGETS;
  const rows: TargetRow[] = [];
  const tree = r.tree;
  const n = r.options.k + r.options.m;
  const treeFiles = `${tree?.files ?? '?'} files`;
  timeRatio(rows, `17: put -r of the tree (${treeFiles}) in <= ${t.treePutOverSnapraidSync.toFixed(1)}x snapraid sync`, tree?.rain?.put, tree?.snapraidSync, t.treePutOverSnapraidSync, 'snapraid sync');
  timeRatio(rows, `17: verify of the tree in <= ${t.treeVerifyOverSnapraidScrub.toFixed(1)}x snapraid scrub -p 100`, tree?.rain?.verify, tree?.snapraidScrub, t.treeVerifyOverSnapraidScrub, 'snapraid scrub');
  const written = tree?.rain?.written;
  const inodeName = `17: <= ${t.inodesPerFilePerStore} files written per stored file per store (tree put -r)`;
  if (written && tree && tree.files > 0) {
    const perFile = written.files / tree.files / n;
    rows.push(judged(inodeName, perFile, (v) => v <= t.inodesPerFilePerStore, `${perFile.toFixed(3)} (${written.files} files on ${n} stores for ${tree.files})`, []));
  } else {
    rows.push({ target: inodeName, measured: 'not measured', met: undefined, disturbed: false });
  }
  timeRatio(rows, `18: sync of the tree with one file changed in <= ${t.treeSyncOneChangedOverSnapraid.toFixed(1)}x snapraid sync of the change`,
    tree?.rain?.syncOneChanged, tree?.snapraidSyncOneChanged, t.treeSyncOneChangedOverSnapraid, 'snapraid sync');
  timeRatio(rows, `19: rebuild of one store, large files, in <= ${t.rebuildOverSnapraidFix.toFixed(1)}x snapraid fix -d`, r.rain?.rebuild, peerOperation(r, 'rebuild'), t.rebuildOverSnapraidFix, 'snapraid fix');
  timeRatio(rows, `19: rebuild of one store, the tree, in <= ${t.rebuildOverSnapraidFix.toFixed(1)}x snapraid fix -d`, tree?.rain?.rebuild, tree?.snapraidFix, t.rebuildOverSnapraidFix, 'snapraid fix');
  timeRatio(rows, `19: verify, large files, in <= ${t.verifyOverSnapraidScrub.toFixed(1)}x snapraid scrub -p 100`, r.rain?.verify, peerOperation(r, 'verify'), t.verifyOverSnapraidScrub, 'snapraid scrub');
  const partial = r.rain?.partialCheck;
  const partialName = `19: check --percent ${t.partialCheckPercent} reads ${t.partialCheckPercent} +/- ${t.partialCheckTolerancePercent}% of the blocks`;
  if (partial?.blocksShare !== undefined) {
    const percent = partial.blocksShare * 100;
    rows.push(judged(partialName, percent, (v) => Math.abs(v - t.partialCheckPercent) <= t.partialCheckTolerancePercent, `${percent.toFixed(2)}%`, [partial]));
  } else {
    rows.push({ target: partialName, measured: partial ? 'no coverage in its report' : 'not run', met: undefined, disturbed: false });
  }
  rows.push(...namesRows(r.names));
  return rows;
}

/**
 * The verdict of a target set for NAMES_TARGET_FILES, from a pool of `files`. Time and memory
 * only grow with the number of names, so a miss on a smaller pool is a miss on the target's, but
 * a pass there proves nothing (not judged); on a larger pool the other way round.
 */
function atScale(files: number, met: boolean | undefined): boolean | undefined {
  if (met === undefined || files === NAMES_TARGET_FILES) return met;
  if (files < NAMES_TARGET_FILES) return met ? undefined : false;
  return met ? true : undefined;
}

function namesRow(target: string, names: NamesSection, measured: string, met: boolean | undefined, rows: readonly Measurement[]): TargetRow {
  const scaled = atScale(names.files, met);
  const scale = names.files === NAMES_TARGET_FILES ? ''
    : ` (measured at ${names.files} files${met === true && scaled === undefined ? '; met there, which does not carry to 1,000,000' : ''})`;
  return { target, measured: `${measured}${scale}`, met: scaled, disturbed: rows.some(isDisturbed) };
}

const seconds = (m: Measurement): string => (m.ok ? `${m.seconds.toFixed(2)} s` : 'failed');

/** Issue 17's 1,000,000-file pool and issue 18's unchanged sync, from data set (c). */
function namesRows(names: NamesSection | undefined): TargetRow[] {
  const t = ISSUE_TARGETS;
  const pool = '1,000,000-file pool:';
  const targets = [
    `17: ${pool} ls first line < ${t.namesLsFirstLineSeconds} s, whole list < ${t.namesLsSeconds} s`,
    `17: ${pool} get, put and rm of one file < ${t.namesOneFileSeconds} s each`,
    `17: ${pool} peak RSS of every process (coordinator, each worker) < ${mib(t.namesProcessRssBytes)}`,
    `18: sync of an unchanged 1,000,000-file tree < ${t.namesSyncUnchangedSeconds} s`,
  ];
  const n = names?.rain;
  if (!names || !n) {
    const why = !names ? 'not measured (run with --names 1000000)' : `failed: ${names.error ?? 'not run'}`;
    return targets.map((target) => ({ target, measured: why, met: undefined, disturbed: false }));
  }
  const [lsTarget, oneFileTarget, rssTarget, syncTarget] = targets;
  const rows: TargetRow[] = [];

  const ls = n.ls;
  const first = ls.firstLineSeconds;
  rows.push(namesRow(lsTarget, names, ls.ok ? `first line ${first === undefined ? 'never' : `${first.toFixed(2)} s`}, whole list ${ls.seconds.toFixed(2)} s` : 'ls failed',
    ls.ok && first !== undefined ? first < t.namesLsFirstLineSeconds && ls.seconds < t.namesLsSeconds : undefined, [ls]));

  const oneFile = [['get', n.get], ['put', n.putOne], ['rm', n.rm]] as const;
  const allRan = oneFile.every(([, m]) => m.ok);
  rows.push(namesRow(oneFileTarget, names, oneFile.map(([what, m]) => `${what} ${seconds(m)}`).join(', '),
    allRan ? oneFile.every(([, m]) => m.seconds < t.namesOneFileSeconds) : undefined, oneFile.map(([, m]) => m)));

  const sampled = namesMeasurements(n).filter((m) => m.rss !== undefined);
  if (sampled.length === 0) {
    rows.push({ target: rssTarget, measured: 'not measured', met: undefined, disturbed: false });
  } else {
    const worst = sampled.reduce((a, b) => ((b.rss?.processMaxBytes ?? 0) > (a.rss?.processMaxBytes ?? 0) ? b : a));
    const roleMax = (role: string): string => mib(Math.max(0, ...sampled.map((m) => m.rss?.roleMaxBytes[role] ?? 0)));
    const failed = namesMeasurements(n).filter((m) => !m.ok).map((m) => m.label);
    const worstBytes = worst.rss?.processMaxBytes ?? 0;
    rows.push(namesRow(rssTarget, names,
      `largest ${mib(worstBytes)} (${worst.rss?.processMaxRole ?? '?'}, ${worst.label}); coordinator at most ${roleMax('coordinator')}, a worker at most ${roleMax('worker')}, over put -r, ls, sync, get, put, rm`
      + (failed.length > 0 ? `; ${failed.join(', ')} failed` : ''),
      // A command that failed may have stopped before its peak: a pass is then not a pass.
      worstBytes >= t.namesProcessRssBytes ? false : failed.length === 0 ? true : undefined, []));
  }

  rows.push(namesRow(syncTarget, names, seconds(n.sync), n.sync.ok ? n.sync.seconds < t.namesSyncUnchangedSeconds : undefined, [n.sync]));
  return rows;
}

export function issueTargetsTable(r: BenchResults): Table {
  return verdictTable(issueTargetRows(r));
}
