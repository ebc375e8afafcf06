import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { sha256OfFile } from './file-digest.js';
import { notRun, type Measurement } from './measurement.js';
import type { RainCli } from './rain-cli.js';
import { initPool, verifyAndRebuild } from './rain-phases.js';
import { emptyDirectory } from './scratch-area.js';
import { usageDifference, usageOf, type DirUsage } from './store-usage.js';
import { lastLines } from './timed-command.js';
import { timeRainCommands, withNotes } from './timed-rain.js';
import type { SourceTree } from './tree-generator.js';

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
  readonly written: DirUsage;
  readonly problems: string[];
}

/** The prefix the tree gets in the pool. */
const PREFIX = 'tree';

/**
 * The ways one command might get a whole tree back, tried in order. `rain get` takes one name
 * today; getting each of 20,000 files with its own command would measure process start-up, not
 * rain, so when none of these works the row says "not supported by one command" instead.
 */
const TREE_GET_FORMS: readonly ((pool: string, out: string) => string[])[] = [
  (pool, out) => ['get', '-p', pool, '-r', PREFIX, '-o', out, '--quiet'],
  (pool, out) => ['get', '-p', pool, `${PREFIX}/`, '-o', out, '--quiet'],
  (pool, out) => ['get', '-p', pool, PREFIX, '-o', out, '--quiet'],
];

/** 'ok' or what is wrong; the files may land below out/tree/ or straight below out/. */
async function checkTree(tree: SourceTree, outDir: string): Promise<string> {
  const base = existsSync(path.join(outDir, PREFIX)) ? path.join(outDir, PREFIX) : outDir;
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

  ctx.log('rain get of the tree (one command, if rain has one)');
  let get: Measurement | undefined;
  let form: ((pool: string, out: string) => string[]) | undefined;
  const refusals: string[] = [];
  for (const [index, candidate] of TREE_GET_FORMS.entries()) {
    // A refusal takes a second; only the first attempt waits for a quiet machine.
    const attempt = await timeRainCommands(cli, 'rain get (tree)', userBytes, [candidate(pool, outDir)], [0], [], { waitForQuiet: index === 0 });
    if (attempt.measurement.ok) {
      const verdict = await checkTree(tree, outDir);
      if (verdict !== 'ok') problems.push(`tree get (${candidate(pool, outDir).slice(0, 4).join(' ')}): ${verdict}`);
      get = withNotes(attempt.measurement, verdict === 'ok', `\`rain ${candidate('POOL', 'OUT').join(' ')}\`; ${verdict === 'ok' ? 'every file matches' : verdict}`);
      form = candidate;
      break;
    }
    const run = attempt.runs[0];
    refusals.push(`\`rain ${candidate('POOL', 'OUT').slice(0, 4).join(' ')}\`: exit ${run?.exitCode ?? '?'}${run ? ` (${lastLines(run.stderr, 1)})` : ''}`);
    await emptyDirectory(outDir);
  }
  await emptyDirectory(outDir);
  const unsupported = `not supported by one command: rain get takes one file name (${refusals.join('; ')}); one command per file would time process start-ups`;
  const getResult = get ?? notRun('rain get (tree)', userBytes, unsupported);

  let degradedResult: Measurement;
  if (form) {
    const lost = storeDirs.slice(0, Math.min(2, m));
    ctx.log(`rain get of the tree with ${lost.length} stores renamed away`);
    for (const store of lost) await fs.rename(store, `${store}.away`);
    let degraded;
    try {
      degraded = await timeRainCommands(cli, `rain get (tree), ${lost.length} stores missing`, userBytes, [form(storeDirs[storeDirs.length - 1], outDir)], [0, 1], problems);
    } finally {
      for (const store of lost) await fs.rename(`${store}.away`, store);
    }
    const verdict = degraded.measurement.ok ? await checkTree(tree, outDir) : 'not checked (get failed)';
    if (verdict !== 'ok') problems.push(`degraded tree get: ${verdict}`);
    await emptyDirectory(outDir);
    degradedResult = withNotes(degraded.measurement, verdict === 'ok', `stores 0,1 renamed away; ${verdict === 'ok' ? 'every file matches' : verdict}`);
  } else {
    degradedResult = notRun(`rain get (tree), ${Math.min(2, m)} stores missing`, userBytes, 'not supported by one command (see get)');
  }

  const { verify, rebuild } = await verifyAndRebuild(cli, storeDirs, userBytes, k, m, problems, ctx.log);
  return {
    put: putResult, get: getResult, degradedGet: degradedResult,
    verify: { ...verify, label: 'rain verify (tree)' }, rebuild: { ...rebuild, label: 'rain rebuild of 1 emptied store (tree)' },
    written, problems,
  };
}
