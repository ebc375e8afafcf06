import fs from 'node:fs/promises';
import path from 'node:path';
import { totalBytesOf, type SourceFile } from './data-generator.js';
import { compareWithSource } from './file-digest.js';
import type { Measurement } from './measurement.js';
import { jsonOf, numberField, objectField, sumOverFiles, type RainCli } from './rain-cli.js';
import { emptyDirectory } from './scratch-area.js';
import { usageDifference, usageOf, type DirUsage } from './store-usage.js';
import { describeFailure } from './timed-command.js';
import { timeRainCommands, withNotes } from './timed-rain.js';

export interface RainContext {
  readonly cli: RainCli;
  /** The k+m store directories of the pool (created here, on the store areas). */
  readonly storeDirs: readonly string[];
  /** The directory holding the source files, put with one `rain put -r`. */
  readonly sourceDir: string;
  readonly sources: readonly SourceFile[];
  /** Where get writes (emptied after each check). */
  readonly outDir: string;
  readonly k: number;
  readonly m: number;
  readonly poolName: string;
  readonly log: (text: string) => void;
}

export interface RainResults {
  readonly put: Measurement;
  readonly get: Measurement;
  readonly degradedGet: Measurement;
  readonly verify: Measurement;
  readonly rebuild: Measurement;
  /** `check --percent 5` after the rebuild; its `blocksShare` is the share of the pool's blocks it read. */
  readonly partialCheck?: Measurement & { readonly blocksShare?: number };
  /** What put added to the stores: blocks, headers, catalog records. */
  readonly written: DirUsage;
  /** Anything the product did that it should not have (wrong exit code, wrong bytes). */
  readonly problems: string[];
}

/** The name prefix the files get in the pool (`put -r DIR --as PREFIX`). */
export const PREFIX = 'large';
/** The store emptied for the rebuild (the floors' rebuild rewrites the same part). */
export const LOST_STORE = 2;

/** One command gets every file of (a) back: `get -r PREFIX -o DIR` writes each to DIR/PREFIX/NAME. */
export function getAllCommand(pool: string, outDir: string): string[] {
  return ['get', '-p', pool, '-r', PREFIX, '-o', outDir, '--json'];
}

export function gotPath(outDir: string, source: SourceFile): string {
  return path.join(outDir, PREFIX, source.name);
}

async function checkOutputs(sources: readonly SourceFile[], outDir: string, problems: string[], what: string): Promise<string> {
  const failures: string[] = [];
  for (const source of sources) {
    const verdict = await compareWithSource(gotPath(outDir, source), source.sha256);
    if (verdict !== 'ok') failures.push(`${source.name}: ${verdict}`);
  }
  await emptyDirectory(outDir);
  if (failures.length === 0) return 'sha256 matches the source';
  problems.push(`${what}: output differs from the source: ${failures.join('; ')}`);
  return `OUTPUT DIFFERS (${failures.length} files)`;
}

export async function initPool(cli: RainCli, storeDirs: readonly string[], k: number, m: number, name: string): Promise<void> {
  for (const dir of storeDirs) await fs.mkdir(dir, { recursive: true });
  const init = await cli.run(['init', '-k', String(k), '-m', String(m), '--block-size', '1M', '--name', name, '--json', ...storeDirs]);
  if (init.exitCode !== 0) throw new Error(`rain init failed: ${describeFailure(init)}`);
}

/** Data set (a): put (one `put -r`), get (one `get -r`), the same get with 2 stores gone, verify, rebuild of one emptied store. */
export async function runRainPhases(ctx: RainContext): Promise<RainResults> {
  const problems: string[] = [];
  const { k, m, storeDirs, sources, outDir, cli } = ctx;
  const userBytes = totalBytesOf(sources);
  ctx.log(`rain init -k ${k} -m ${m} over ${storeDirs.length} directories`);
  await initPool(cli, storeDirs, k, m, ctx.poolName);
  const pool = storeDirs[0];
  const before = await usageOf(storeDirs);

  ctx.log(`rain put -r (${sources.length} files)`);
  const put = await timeRainCommands(cli, 'rain put', userBytes, [['put', '-p', pool, '-r', ctx.sourceDir, '--as', PREFIX, '--json']], [0], problems);
  const written = usageDifference(await usageOf(storeDirs), before);
  const datasets = sumOverFiles(put.stdouts[0] ?? '', 'datasets') ?? 0;
  const putResult = withNotes(put.measurement, true,
    `one 'put -r' of ${sources.length} files: ${datasets} data sets of ${k}+${m} 1 MiB blocks; wrote ${mibText(written.bytes)} in ${written.files} files`);

  ctx.log('rain get -r');
  const get = await timeRainCommands(cli, 'rain get', userBytes, [getAllCommand(pool, outDir)], [0], problems);
  const getCheck = get.measurement.ok ? await checkOutputs(sources, outDir, problems, 'rain get') : 'not checked (get failed)';
  const getResult = withNotes(get.measurement, !getCheck.startsWith('OUTPUT'), `one 'get -r' of ${sources.length} files; ${getCheck}`);

  const lost = storeDirs.slice(0, Math.min(2, m));
  ctx.log(`rain get with ${lost.length} stores renamed away`);
  for (const store of lost) await fs.rename(store, `${store}.away`);
  let degraded;
  try {
    degraded = await timeRainCommands(cli, `rain get, ${lost.length} stores missing`, userBytes, [getAllCommand(storeDirs[storeDirs.length - 1], outDir)], [0, 1], problems);
  } finally {
    for (const store of lost) await fs.rename(`${store}.away`, store);
  }
  const reconstructed = degraded.stdouts.reduce((sum, out) => sum + (numberField(objectField(jsonOf(out), 'totals'), 'reconstructedDatasets') ?? 0), 0);
  if (degraded.measurement.ok && reconstructed === 0) problems.push(`degraded get reported no reconstructed data sets although ${lost.length} stores were missing`);
  const degradedCheck = degraded.measurement.ok ? await checkOutputs(sources, outDir, problems, 'degraded get') : 'not checked (get failed)';
  const degradedResult = withNotes(degraded.measurement, !degradedCheck.startsWith('OUTPUT'),
    `stores ${lost.map((_, i) => i).join(',')} renamed away; ${reconstructed} data sets reconstructed; ${degradedCheck}`);

  const { verify, rebuild } = await verifyAndRebuild(cli, storeDirs, userBytes, k, m, problems, ctx.log);
  const partial = await partialCheck(cli, storeDirs[0], userBytes, k, m, problems, ctx.log);
  return { put: putResult, get: getResult, degradedGet: degradedResult, verify, rebuild, partialCheck: partial, written, problems };
}

/** The share of the blocks `check --percent 5` may read: issue 19's "5 +/- 1% of the blocks". */
export const PARTIAL_CHECK_PERCENT = 5;
export const PARTIAL_CHECK_TOLERANCE_PERCENT = 1;

/**
 * `check --percent 5` on the healthy pool: timed, and the blocks it read (its --json report:
 * every block it classified, good or not, summed over the files) over all the pool's blocks
 * (data sets x (k+m)). The rate is of the user bytes under the data sets it read.
 */
export async function partialCheck(
  cli: RainCli, pool: string, userBytes: number, k: number, m: number, problems: string[], log: (text: string) => void,
): Promise<Measurement & { blocksShare?: number }> {
  log(`rain check --percent ${PARTIAL_CHECK_PERCENT}`);
  const label = `rain check --percent ${PARTIAL_CHECK_PERCENT}`;
  const run = await timeRainCommands(cli, label, userBytes, [['check', '-p', pool, '--percent', String(PARTIAL_CHECK_PERCENT), '--json']], [0], problems, { wholeStdout: true });
  const doc = jsonOf(run.stdouts[0] ?? '');
  const scrub = objectField(doc, 'scrub');
  const totalDatasets = numberField(scrub, 'totalDatasets');
  const files = Array.isArray(doc?.files) ? (doc.files as unknown[]) : [];
  const blocksRead = files.reduce<number>((sum, f) => {
    const blocks = objectField(typeof f === 'object' && f !== null ? (f as Record<string, unknown>) : undefined, 'blocks');
    return sum + ['good', 'missing', 'corrupt', 'stale'].reduce((n, key) => n + (numberField(blocks, key) ?? 0), 0);
  }, 0);
  if (!totalDatasets) {
    problems.push(`${label}: no scrub coverage in its --json report`);
    return withNotes(run.measurement, false, 'no scrub coverage in the report');
  }
  const share = blocksRead / (totalDatasets * (k + m));
  const within = Math.abs(share * 100 - PARTIAL_CHECK_PERCENT) <= PARTIAL_CHECK_TOLERANCE_PERCENT;
  if (!within) problems.push(`${label} read ${(share * 100).toFixed(2)}% of the blocks, not ${PARTIAL_CHECK_PERCENT} +/- ${PARTIAL_CHECK_TOLERANCE_PERCENT}%`);
  const measured = { ...run.measurement, userBytes: Math.round(userBytes * share) };
  return {
    ...withNotes(measured, within, `read ${blocksRead} of ${totalDatasets * (k + m)} blocks (${(share * 100).toFixed(2)}%; ${numberField(scrub, 'selectedDatasets') ?? '?'} of ${totalDatasets} data sets), from its --json report; exit ${run.runs[0]?.exitCode ?? '?'}`),
    blocksShare: share,
  };
}

/** verify of the whole pool, then rebuild after emptying store LOST_STORE, then a verify that must pass. */
export async function verifyAndRebuild(
  cli: RainCli, storeDirs: readonly string[], userBytes: number, k: number, m: number, problems: string[], log: (text: string) => void,
): Promise<{ verify: Measurement; rebuild: Measurement }> {
  const pool = storeDirs[0];
  log('rain verify');
  const verify = await timeRainCommands(cli, 'rain verify', userBytes, [['verify', '-p', pool, '--json']], [0], problems);
  const verifyResult = withNotes(verify.measurement, true, `one run for the pool; reads all ${k}+${m} blocks (${((k + m) / k).toFixed(2)}x the user bytes); exit ${verify.runs[0]?.exitCode ?? '?'}`);

  const lost = Math.min(LOST_STORE, storeDirs.length - 1);
  log(`rain rebuild of store ${lost} (emptied)`);
  await emptyDirectory(storeDirs[lost]);
  // The whole --json document: for a tree it lists every file, far past the kept tail.
  const rebuild = await timeRainCommands(cli, 'rain rebuild of 1 emptied store', userBytes, [['rebuild', '-p', pool, '--json']], [0, 1], problems, { wholeStdout: true });
  const repairedBlocks = sumOverFiles(rebuild.stdouts[0] ?? '', 'repairedBlocks');
  const after = await cli.run(['verify', '-p', pool, '--quiet']);
  if (after.exitCode !== 0) problems.push(`verify after rebuild: ${describeFailure(after)}`);
  const rebuildResult = withNotes(rebuild.measurement, after.exitCode === 0,
    `store ${lost} emptied; ${repairedBlocks ?? '?'} blocks rebuilt (exit ${rebuild.runs[0]?.exitCode ?? '?'}); verify afterwards exit ${after.exitCode ?? '?'}`);
  return { verify: verifyResult, rebuild: rebuildResult };
}

function mibText(bytes: number): string {
  return `${(bytes / 1048576).toFixed(0)} MiB`;
}
