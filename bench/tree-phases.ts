import fs from 'node:fs/promises';
import path from 'node:path';
import { sha256OfFile } from './file-digest.js';
import type { Measurement } from './measurement.js';
import type { RainCli } from './rain-cli.js';
import { initPool, verifyAndRebuild } from './rain-phases.js';
import { emptyDirectory } from './scratch-area.js';
import { usageDifference, usageOf, type DirUsage } from './store-usage.js';
import { timeRainCommands, withNotes } from './timed-rain.js';
import type { SourceTree } from './tree-generator.js';
import { fileToChange, flipFirstByte } from './tree-change.js';

export interface TreeContext {
  readonly cli: RainCli;
  readonly storeDirs: readonly string[];
  readonly tree: SourceTree;
  readonly outDir: string;
  readonly k: number;
  readonly m: number;
  readonly poolName: string;
  readonly log: (text: string) => void;
}

export interface TreeResults {
  readonly put: Measurement;
  readonly get: Measurement;
  readonly degradedGet: Measurement;
  readonly verify: Measurement;
  readonly rebuild: Measurement;
  /** `rain sync` of the tree after one file changed (issue 18: within 1.5x snapraid sync of the same change). */
  readonly syncOneChanged: Measurement;
  readonly written: DirUsage;
  readonly problems: string[];
}

/** The prefix the tree gets in the pool. */
const PREFIX = 'tree';

/** One command gets the tree back: `get -r tree -o OUT` writes each file to OUT/tree/RELPATH. */
function treeGetCommand(pool: string, outDir: string): string[] {
  return ['get', '-p', pool, '-r', PREFIX, '-o', outDir, '--quiet'];
}

/** 'ok' or what is wrong with the files below out/tree/. */
async function checkTree(tree: SourceTree, outDir: string): Promise<string> {
  const base = path.join(outDir, PREFIX);
  let bad = 0;
  let first = '';
  for (const file of tree.files) {
    const actual = await sha256OfFile(path.join(base, ...file.relPath.split('/'))).catch(() => 'missing');
    if (actual !== file.sha256) {
      bad++;
      first ||= `${file.relPath}: ${actual === 'missing' ? 'missing' : 'other bytes'}`;
    }
  }
  return bad === 0 ? 'ok' : `${bad} of ${tree.files.length} files wrong (first: ${first})`;
}

/** How many files `rain ls` lists under the prefix; its document is read whole (it is large). */
async function countListed(cli: RainCli, pool: string): Promise<number | undefined> {
  const chunks: Buffer[] = [];
  const run = await cli.run(['ls', '-p', pool, `${PREFIX}/`, '--json'], false, (chunk) => chunks.push(chunk));
  try {
    const doc: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const files = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>).files : undefined;
    return run.exitCode === 0 && Array.isArray(files) ? files.length : undefined;
  } catch {
    return undefined;
  }
}

export async function runTreePhases(ctx: TreeContext): Promise<TreeResults> {
  const problems: string[] = [];
  const { cli, storeDirs, tree, outDir, k, m } = ctx;
  const userBytes = tree.totalBytes;
  ctx.log(`rain init (tree pool) -k ${k} -m ${m}`);
  await initPool(cli, storeDirs, k, m, ctx.poolName);
  const pool = storeDirs[0];
  const before = await usageOf(storeDirs);

  ctx.log(`rain put -r of the tree (${tree.files.length} files)`);
  // No --json: its document lists every file, far more than the output tail kept.
  const put = await timeRainCommands(cli, 'rain put -r (tree)', userBytes, [['put', '-p', pool, '-r', tree.root, '--as', PREFIX, '--quiet']], [0], problems);
  const written = usageDifference(await usageOf(storeDirs), before);
  const count = await countListed(cli, pool);
  const putResult = withNotes(put.measurement, count === undefined || count === tree.files.length,
    `one 'put -r' of ${tree.files.length} files in ${tree.directories} directories; wrote ${(written.bytes / 1048576).toFixed(0)} MiB in ${written.files} files`
    + (count === undefined ? '' : `; rain ls lists ${count} files`));
  if (count !== undefined && count !== tree.files.length) problems.push(`tree put: rain ls lists ${count} files, ${tree.files.length} were put`);

  ctx.log('rain get -r of the tree');
  const get = await timeRainCommands(cli, 'rain get (tree)', userBytes, [treeGetCommand(pool, outDir)], [0], problems);
  const verdict = get.measurement.ok ? await checkTree(tree, outDir) : 'not checked (get failed)';
  if (get.measurement.ok && verdict !== 'ok') problems.push(`tree get: ${verdict}`);
  await emptyDirectory(outDir);
  const getResult = withNotes(get.measurement, verdict === 'ok', `one \`rain get -r\` of ${tree.files.length} files; ${verdict === 'ok' ? 'every file matches' : verdict}`);

  const lost = storeDirs.slice(0, Math.min(2, m));
  ctx.log(`rain get -r of the tree with ${lost.length} stores renamed away`);
  for (const store of lost) await fs.rename(store, `${store}.away`);
  let degraded;
  try {
    degraded = await timeRainCommands(cli, `rain get (tree), ${lost.length} stores missing`, userBytes, [treeGetCommand(storeDirs[storeDirs.length - 1], outDir)], [0, 1], problems);
  } finally {
    for (const store of lost) await fs.rename(`${store}.away`, store);
  }
  const degradedVerdict = degraded.measurement.ok ? await checkTree(tree, outDir) : 'not checked (get failed)';
  if (degraded.measurement.ok && degradedVerdict !== 'ok') problems.push(`degraded tree get: ${degradedVerdict}`);
  await emptyDirectory(outDir);
  const degradedResult = withNotes(degraded.measurement, degradedVerdict === 'ok',
    `stores ${lost.map((_, i) => i).join(',')} renamed away; ${degradedVerdict === 'ok' ? 'every file matches' : degradedVerdict}`);

  const { verify, rebuild } = await verifyAndRebuild(cli, storeDirs, userBytes, k, m, problems, ctx.log);
  const syncOneChanged = await syncOneChangedFile(ctx, pool, problems);
  return {
    put: putResult, get: getResult, degradedGet: degradedResult, syncOneChanged,
    verify: { ...verify, label: 'rain verify (tree)' }, rebuild: { ...rebuild, label: 'rain rebuild of 1 emptied store (tree)' },
    written, problems,
  };
}

/**
 * One file of the tree changed (same size, other bytes, new mtime), then one `rain sync`: what an
 * hourly cron sync of a quiet tree costs. The file is put back afterwards (the peers use the tree).
 */
async function syncOneChangedFile(ctx: TreeContext, pool: string, problems: string[]): Promise<Measurement> {
  const changed = fileToChange(ctx.tree);
  const file = path.join(ctx.tree.root, ...changed.relPath.split('/'));
  ctx.log(`rain sync of the tree with one file changed (${changed.relPath})`);
  await flipFirstByte(file);
  try {
    const sync = await timeRainCommands(ctx.cli, 'rain sync (tree), one file changed', changed.sizeBytes,
      [['sync', '-p', pool, ctx.tree.root, '--as', PREFIX, '--json']], [0], problems);
    const report = parseSyncReport(sync.stdouts[0] ?? '');
    const right = report !== undefined && report.updated.length === 1 && report.updated[0] === `${PREFIX}/${changed.relPath}` && report.added.length === 0;
    if (sync.measurement.ok && !right) problems.push(`tree sync: expected ${PREFIX}/${changed.relPath} alone updated, got ${JSON.stringify(report?.updated ?? null)}`);
    return withNotes(sync.measurement, right,
      `${ctx.tree.files.length} files, ${changed.relPath} (${changed.sizeBytes} B) changed in place; ` + (report ? `read ${report.bytesRead} B, ${report.unchanged} unchanged` : 'no report'));
  } finally {
    await flipFirstByte(file);
  }
}

function parseSyncReport(text: string): { updated: string[]; added: string[]; unchanged: number; bytesRead: number } | undefined {
  try {
    const doc: unknown = JSON.parse(text);
    if (typeof doc !== 'object' || doc === null) return undefined;
    const d = doc as Record<string, unknown>;
    if (!Array.isArray(d.updated) || !Array.isArray(d.added)) return undefined;
    return { updated: d.updated.map(String), added: d.added.map(String), unchanged: Number(d.unchanged), bytesRead: Number(d.bytesRead) };
  } catch {
    return undefined;
  }
}
