/**
 * `npm run bench`: rain against the plain-I/O floor of the same disk, and against SnapRAID, par2
 * and zfec when installed. Prints the tables and rewrites docs/BENCHMARKS.md.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchOptions, USAGE, UsageError, type BenchOptions } from './bench-options.js';
import { benchmarksMarkdown } from './benchmarks-doc.js';
import { onCleanup, runCleanups } from './cleanup.js';
import { generateSourceFiles, MiB, totalBytesOf, type SourceFile } from './data-generator.js';
import { readFloor, writeBlockFileFloor, writeFloor, type FloorLayout, type FloorRun } from './io-floor.js';
import { describeMachine } from './machine-info.js';
import { seconds, type Measurement } from './measurement.js';
import { prepareTimedPhase } from './page-cache.js';
import { configureQuietWait, LoadProbe } from './system-load.js';
import { runPeers } from './peers/run-peers.js';
import { RainCli } from './rain-cli.js';
import { runRainPhases, type RainResults } from './rain-phases.js';
import { mainTable, memoryTable, mib, peersTable, renderText, targetsTable, type BenchResults, type FloorResults } from './results.js';

const benchStarted = process.hrtime.bigint();

function log(text: string): void {
  process.stderr.write(`[bench +${seconds(benchStarted).toFixed(1)}s] ${text}\n`);
}

async function timeFloor(label: string, sources: readonly SourceFile[], note: string, body: () => Promise<FloorRun>): Promise<Measurement> {
  log(label);
  const cacheDropped = await prepareTimedPhase();
  const probe = new LoadProbe();
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const run = await body();
  const wall = seconds(started);
  const cpu = process.cpuUsage(cpuBefore);
  return {
    label, userBytes: totalBytesOf(sources), seconds: wall, cacheDropped, ok: true, otherCores: probe.otherCores(0),
    // The bench process's own CPU time: the floor runs in it.
    cpu: { userSeconds: cpu.user / 1e6, systemSeconds: cpu.system / 1e6 },
    notes: [note, `${mib(run.bytesRead)} read, ${mib(run.bytesWritten)} written`],
  };
}

async function measureFloors(benchDir: string, sources: readonly SourceFile[], o: BenchOptions): Promise<FloorResults> {
  const floorDir = path.join(benchDir, 'floor');
  const layout: FloorLayout = { dirs: Array.from({ length: o.k + o.m }, (_, i) => path.join(floorDir, `dir-${i}`)), k: o.k, chunkBytes: MiB };
  for (const dir of layout.dirs) await fs.mkdir(dir, { recursive: true });
  const write = await timeFloor('floor write', sources, `plain streams, ${o.k + o.m} files per source file, fsync at the end`, () => writeFloor(sources, layout));
  const outDir = path.join(floorDir, 'out');
  await fs.mkdir(outDir);
  const readToFile = await timeFloor('floor read (to a file)', sources, `${o.k} parts read concurrently into one output file, fsync at the end`, () => readFloor(sources, layout, outDir));
  const readOnly = await timeFloor('floor read-only', sources, `${o.k} parts read concurrently, bytes dropped`, () => readFloor(sources, layout, undefined));
  await fs.rm(floorDir, { recursive: true, force: true });
  const blockLayout: FloorLayout = { ...layout, dirs: layout.dirs.map((d) => `${d}-blocks`) };
  for (const dir of blockLayout.dirs) await fs.mkdir(dir, { recursive: true });
  const blockFiles = await timeFloor('floor write, one file per block', sources, 'tmp file + fsync + rename per 1 MiB block, as rain lays blocks out', () => writeBlockFileFloor(sources, blockLayout));
  await fs.rm(floorDir, { recursive: true, force: true });
  return { write, blockFiles, readToFile, readOnly };
}

async function checkFreeSpace(dir: string, neededBytes: number): Promise<void> {
  try {
    const stats = await fs.statfs(dir);
    const free = stats.bavail * stats.bsize;
    if (free < neededBytes) log(`WARNING: ${mib(free)} free in ${dir}, the run needs about ${mib(neededBytes)}`);
  } catch {
    // statfs unsupported: go ahead
  }
}

async function run(options: BenchOptions): Promise<number> {
  configureQuietWait(options.quietWaitSeconds, log);
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const parent = path.resolve(options.parentDir ?? os.tmpdir());
  await fs.mkdir(parent, { recursive: true });
  const benchDir = await fs.mkdtemp(path.join(parent, 'rain-bench-'));
  if (options.keep) log(`keeping ${benchDir}`);
  else onCleanup(`rm -r ${benchDir}`, () => fs.rm(benchDir, { recursive: true, force: true }));
  const userBytes = options.sizeMiB * MiB;
  // Source, the pool, one get output and the largest peer set exist at the same time.
  await checkFreeSpace(benchDir, Math.ceil(userBytes * (1 + (options.k + options.m) / options.k + 1 + 0.5) + 256 * MiB));
  const machine = describeMachine(benchDir);
  log(`${options.sizeMiB} MiB in ${options.files} file(s), k=${options.k} m=${options.m}, in ${benchDir} (${machine.filesystem})`);

  log('generating data');
  const genStarted = process.hrtime.bigint();
  const sources = await generateSourceFiles(path.join(benchDir, 'source'), userBytes, options.files);
  const generateSeconds = seconds(genStarted);

  const floor = await measureFloors(benchDir, sources, options);

  let rain: RainResults | undefined;
  let rainError: string | undefined;
  try {
    const configDir = path.join(benchDir, 'rain-config');
    await fs.mkdir(configDir);
    const cli = new RainCli(repoRoot, configDir);
    const rainDir = path.join(benchDir, 'rain');
    rain = await runRainPhases({ cli, workDir: rainDir, sources, k: options.k, m: options.m, log });
    if (!options.keep) await fs.rm(rainDir, { recursive: true, force: true });
  } catch (error) {
    rainError = error instanceof Error ? error.message : String(error);
    log(`rain failed: ${rainError}`);
  }

  const peersDir = path.join(benchDir, 'peers');
  await fs.mkdir(peersDir);
  const peers = await runPeers({ workDir: peersDir, sources, k: options.k, m: options.m, log }, options.skipPeers);

  const results: BenchResults = {
    options, machine, benchDir, userBytes, generateSeconds, floor, rain, rainError, peers, totalSeconds: seconds(benchStarted),
  };
  const text = [
    '',
    `rain benchmark, ${machine.date}: ${options.sizeMiB} MiB in ${options.files} file(s), k=${options.k} m=${options.m}; ${machine.cores} cores ${machine.cpuModel}, ${machine.filesystem}, node ${machine.node}`,
    '',
    renderText(mainTable(results)),
    '',
    renderText(memoryTable(results)),
    '',
    renderText(targetsTable(results)),
    '',
    renderText(peersTable(results)),
    ...(rain && rain.problems.length > 0 ? ['', 'problems:', ...rain.problems.map((p) => `  - ${p}`)] : []),
    '',
  ].join('\n');
  process.stdout.write(text);
  if (options.writeDoc) {
    const docPath = path.join(repoRoot, 'docs', 'BENCHMARKS.md');
    await fs.mkdir(path.dirname(docPath), { recursive: true });
    await fs.writeFile(docPath, benchmarksMarkdown(results));
    log(`wrote ${docPath}`);
  }
  const failed = rain === undefined || rain.problems.length > 0;
  return failed ? 1 : 0;
}

async function main(): Promise<void> {
  let options: BenchOptions | undefined;
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`bench: ${error.message}\n${USAGE}\n`);
      process.exitCode = 64;
      return;
    }
    throw error;
  }
  if (!options) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  try {
    process.exitCode = await run(options);
  } finally {
    await runCleanups();
  }
}

let settled = false;
process.on('exit', () => {
  // Node exits quietly with code 0 when the event loop runs dry under an unsettled await.
  if (!settled) {
    process.stderr.write('bench: stopped with work pending (a promise never settled); the results are incomplete\n');
    process.exitCode = 70;
  }
});

main().then(() => { settled = true; }, (error: unknown) => {
  settled = true;
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
