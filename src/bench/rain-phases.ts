import fs from 'node:fs/promises';
import path from 'node:path';
import { totalBytesOf, type SourceFile } from './data-generator.js';
import { compareWithSource } from './file-digest.js';
import { addCpu, cpuSecondsOf, mergeRss, type Measurement } from './measurement.js';
import { prepareTimedPhase } from './page-cache.js';
import { LoadProbe } from './system-load.js';
import { jsonOf, numberField, type RainCli } from './rain-cli.js';
import { describeFailure, type CommandRun } from './timed-command.js';

export interface RainContext {
  readonly cli: RainCli;
  readonly workDir: string;
  readonly sources: readonly SourceFile[];
  readonly k: number;
  readonly m: number;
  readonly log: (text: string) => void;
}

export interface RainResults {
  readonly put: Measurement;
  readonly get: Measurement;
  readonly degradedGet: Measurement;
  readonly verify: Measurement;
  readonly rebuild: Measurement;
  /** Anything the product did that it should not have (wrong exit code, wrong bytes). */
  readonly problems: string[];
}

/** Runs one rain command for the whole pool after dropping the page cache. */
async function runOnce(
  ctx: RainContext, label: string, args: string[], okExitCodes: readonly number[], problems: string[],
): Promise<{ measurement: Measurement; run: CommandRun }> {
  const cacheDropped = await prepareTimedPhase();
  const probe = new LoadProbe();
  const run = await ctx.cli.run(args, true);
  const otherCores = probe.otherCores(cpuSecondsOf(run.cpu));
  const ok = run.exitCode !== null && okExitCodes.includes(run.exitCode);
  if (!ok) problems.push(`${label}: ${describeFailure(run)}`);
  return {
    run,
    measurement: {
      label, userBytes: totalBytesOf(ctx.sources), seconds: ok ? run.wallSeconds : NaN, cacheDropped, ok, notes: [], rss: run.rss, cpu: run.cpu, otherCores,
    },
  };
}

/** Runs one rain command per source file, back to back, and adds up wall time, CPU and RSS peaks. */
async function perFile(
  ctx: RainContext, label: string, argsFor: (source: SourceFile) => string[], okExitCodes: readonly number[], problems: string[],
): Promise<{ measurement: Measurement; runs: CommandRun[] }> {
  const cacheDropped = await prepareTimedPhase();
  const probe = new LoadProbe();
  const runs: CommandRun[] = [];
  let ok = true;
  for (const source of ctx.sources) {
    const run = await ctx.cli.run(argsFor(source), true);
    runs.push(run);
    if (run.exitCode === null || !okExitCodes.includes(run.exitCode)) {
      ok = false;
      problems.push(`${label} ${source.name}: ${describeFailure(run)}`);
    }
  }
  const cpu = runs.reduce<Measurement['cpu']>((sum, r) => addCpu(sum, r.cpu), undefined);
  const measurement: Measurement = {
    label,
    otherCores: probe.otherCores(cpuSecondsOf(cpu)),
    userBytes: totalBytesOf(ctx.sources),
    seconds: ok ? runs.reduce((sum, r) => sum + r.wallSeconds, 0) : NaN,
    cacheDropped,
    ok,
    notes: [],
    rss: runs.reduce<Measurement['rss']>((peak, r) => mergeRss(peak, r.rss), undefined),
    cpu,
  };
  return { measurement, runs };
}

async function checkOutputs(ctx: RainContext, outDir: string, problems: string[], what: string): Promise<string> {
  const failures: string[] = [];
  for (const source of ctx.sources) {
    const verdict = await compareWithSource(path.join(outDir, source.name), source.sha256);
    if (verdict !== 'ok') failures.push(`${source.name}: ${verdict}`);
  }
  await fs.rm(outDir, { recursive: true, force: true });
  if (failures.length === 0) return 'sha256 matches the source';
  problems.push(`${what}: output differs from the source: ${failures.join('; ')}`);
  return `OUTPUT DIFFERS (${failures.length} files)`;
}

async function emptyDirectory(dir: string): Promise<void> {
  for (const entry of await fs.readdir(dir)) await fs.rm(path.join(dir, entry), { recursive: true, force: true });
}

function withNotes(m: Measurement, ok: boolean, ...notes: string[]): Measurement {
  return { ...m, ok: m.ok && ok, seconds: m.ok && ok ? m.seconds : NaN, notes: [...m.notes, ...notes] };
}

export async function runRainPhases(ctx: RainContext): Promise<RainResults> {
  const problems: string[] = [];
  const { k, m } = ctx;
  const stores = Array.from({ length: k + m }, (_, i) => path.join(ctx.workDir, `store-${i}`));
  for (const store of stores) await fs.mkdir(store, { recursive: true });

  ctx.log(`rain init -k ${k} -m ${m} over ${stores.length} directories`);
  const init = await ctx.cli.run(['init', '-k', String(k), '-m', String(m), '--block-size', '1M', '--name', 'rain-bench', '--json', ...stores]);
  if (init.exitCode !== 0) throw new Error(`rain init failed: ${describeFailure(init)}`);
  const pool = stores[0];

  ctx.log('rain put');
  const put = await perFile(ctx, 'rain put', (s) => ['put', '-p', pool, s.path, '--json'], [0], problems);
  const datasets = put.runs.reduce((sum, r) => {
    const files = jsonOf(r)?.files;
    return sum + (Array.isArray(files) ? files.reduce((n: number, f: unknown) => n + (numberField(f as Record<string, unknown>, 'datasets') ?? 0), 0) : 0);
  }, 0);
  const putResult = withNotes(put.measurement, true, `${ctx.sources.length} file(s), ${datasets} data sets of ${k}+${m} 1 MiB blocks`);

  ctx.log('rain get');
  const getDir = path.join(ctx.workDir, 'get-out');
  await fs.mkdir(getDir);
  const get = await perFile(ctx, 'rain get', (s) => ['get', '-p', pool, s.name, '-o', getDir, '--json'], [0], problems);
  const getCheck = get.measurement.ok ? await checkOutputs(ctx, getDir, problems, 'rain get') : 'not checked (get failed)';
  const getResult = withNotes(get.measurement, !getCheck.startsWith('OUTPUT'), getCheck);

  const lost = stores.slice(0, Math.min(2, m));
  ctx.log(`rain get with ${lost.length} stores renamed away`);
  const degradedDir = path.join(ctx.workDir, 'degraded-out');
  await fs.mkdir(degradedDir);
  for (const store of lost) await fs.rename(store, `${store}.away`);
  let degraded;
  try {
    degraded = await perFile(ctx, `rain get, ${lost.length} stores missing`, (s) => ['get', '-p', stores[stores.length - 1], s.name, '-o', degradedDir, '--json'], [0, 1], problems);
  } finally {
    for (const store of lost) await fs.rename(`${store}.away`, store);
  }
  const reconstructed = degraded.runs.reduce((sum, r) => sum + (numberField(jsonOf(r), 'reconstructedDatasets') ?? 0), 0);
  if (degraded.measurement.ok && reconstructed === 0) problems.push('degraded get reported no reconstructed data sets although 2 stores were missing');
  const degradedCheck = degraded.measurement.ok ? await checkOutputs(ctx, degradedDir, problems, 'degraded get') : 'not checked (get failed)';
  const degradedResult = withNotes(degraded.measurement, !degradedCheck.startsWith('OUTPUT'),
    `stores ${lost.map((s) => path.basename(s).replace('store-', '')).join(',')} renamed away; ${reconstructed} data sets reconstructed; ${degradedCheck}`);

  ctx.log('rain verify');
  const verify = await runOnce(ctx, 'rain verify', ['verify', '-p', pool, '--json'], [0], problems);
  const verifyResult = withNotes(verify.measurement, true,
    `one run for the pool; reads all ${k}+${m} blocks (${((k + m) / k).toFixed(2)}x the user bytes); exit ${verify.run.exitCode ?? '?'}`);

  const emptied = stores[Math.min(2, stores.length - 1)];
  ctx.log(`rain rebuild of ${path.basename(emptied)} (emptied)`);
  await emptyDirectory(emptied);
  const rebuild = await runOnce(ctx, 'rain rebuild of 1 emptied store', ['rebuild', '-p', pool, '--json'], [0, 1], problems);
  const files = jsonOf(rebuild.run)?.files;
  const repairedBlocks = Array.isArray(files) ? files.reduce((n: number, f: unknown) => n + (numberField(f as Record<string, unknown>, 'repairedBlocks') ?? 0), 0) : 0;
  const after = await ctx.cli.run(['verify', '-p', pool, '--json']);
  if (after.exitCode !== 0) problems.push(`verify after rebuild: ${describeFailure(after)} (verdict ${String(jsonOf(after)?.verdict ?? '?')})`);
  const rebuildResult = withNotes(rebuild.measurement, true,
    `store ${path.basename(emptied).replace('store-', '')} emptied; ${repairedBlocks} blocks rebuilt (exit ${rebuild.run.exitCode ?? '?'}); verify afterwards exit ${after.exitCode ?? '?'}`);
  return { put: putResult, get: getResult, degradedGet: degradedResult, verify: verifyResult, rebuild: rebuildResult, problems };
}
