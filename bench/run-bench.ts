/**
 * `npm run bench`: rain against the plain-I/O floor of the same storage, on (a) a few large files,
 * (b) a tree of small files and, with --names N, (c) a pool of N small files (issues 17 and 18);
 * rain over ssh:// stores; SnapRAID, par2 and zfec when installed;
 * peak RSS for a small against a large file. Prints the tables and rewrites docs/BENCHMARKS.md.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NAMES_SHAPE, parseBenchOptions, USAGE, UsageError, type BenchOptions } from './bench-options.js';
import { layoutSizes, namesSizes, prepareLayout, releaseLayout, type BenchLayout } from './bench-layout.js';
import { benchmarksMarkdown } from './benchmarks-doc.js';
import { runCleanups, wasInterrupted } from './cleanup.js';
import { generateSourceFiles, MiB, type SourceFile } from './data-generator.js';
import { writeFloorWithStreams } from './stream-floor.js';
import { readBlockFileFloor, writeBlockFileFloor } from './block-file-floor.js';
import { readAllPartsFloor, readFloor, rebuildFloor, writeFloor, type FloorLayout, type FloorRun } from './io-floor.js';
import { describeMachine } from './machine-info.js';
import { configureWarmUp, setWarmUpBytes } from './memory-warm-up.js';
import { seconds, type Measurement } from './measurement.js';
import { prepareTimedPhase } from './page-cache.js';
import { runPeers } from './peers/run-peers.js';
import { runSnapraidTree, type SnapraidTreeResults } from './peers/snapraid-tree.js';
import type { PeerReport } from './peers/peer-report.js';
import { RainCli } from './rain-cli.js';
import { LOST_STORE, runRainPhases, type RainResults } from './rain-phases.js';
import { generateNames } from './names-generator.js';
import { runNamesPhases } from './names-phases.js';
import { mib, problemsOf, type BenchResults, type FloorResults, type NamesSection, type TreeFloorResults, type TreeSection } from './results.js';
import { runRssSweep, type RssSweepResults } from './rss-sweep.js';
import { leftoverBenchMounts } from './scratch-area.js';
import { runSshPhase, type SshPhaseResults } from './ssh-phase.js';
import { configureQuietWait, LoadProbe } from './system-load.js';
import { mainTable, memoryTable, namesTable, peersTable, renderText, rssSweepTable, sshTable, treeTable } from './tables.js';
import { coreGoalsTable, targetsTable } from './targets.js';
import { issueTargetsTable } from './issue-targets.js';
import { fastestFloors, fastestRain } from './fastest-pass.js';
import { readTreeFloor, writeTreeFloor, type TreeFloorLayout } from './tree-floor.js';
import { generateTree, type SourceTree } from './tree-generator.js';
import { runTreePhases } from './tree-phases.js';

const benchStarted = process.hrtime.bigint();

function log(text: string): void {
  process.stderr.write(`[bench +${seconds(benchStarted).toFixed(1)}s] ${text}\n`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Times a floor, which runs inside the bench process (its CPU time is the bench's own). */
async function timeFloor(label: string, userBytes: number, note: string, body: () => Promise<FloorRun>): Promise<Measurement> {
  log(label);
  const cacheDropped = await prepareTimedPhase();
  const probe = new LoadProbe();
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const run = await body();
  const wall = seconds(started);
  const cpu = process.cpuUsage(cpuBefore);
  return {
    label, userBytes, seconds: wall, cacheDropped, ok: true, otherCores: probe.otherCores(0),
    cpu: { userSeconds: cpu.user / 1e6, systemSeconds: cpu.system / 1e6 },
    notes: [note, `${mib(run.bytesRead)} read, ${mib(run.bytesWritten)} written`],
  };
}

async function measureFloors(layout: BenchLayout, sources: readonly SourceFile[], o: BenchOptions, userBytes: number): Promise<FloorResults> {
  const floorDirs = layout.stores.map((s) => path.join(s.dir, 'floor'));
  const fl: FloorLayout = { dirs: floorDirs, k: o.k, chunkBytes: MiB };
  for (const dir of floorDirs) await fs.mkdir(dir, { recursive: true });
  const n = o.k + o.m;
  const outDir = path.join(layout.out.dir, 'floor');
  try {
    const write = await timeFloor('floor write (put floor)', userBytes, `a stripe read, its ${n} parts written, reused buffers; ${n} files per source file, each fsynced at the end`, () => writeFloor(sources, fl));
    await fs.mkdir(outDir, { recursive: true });
    const readToFile = await timeFloor('floor read to a file (get floor)', userBytes, `a stripe of the ${o.k} data parts read, written to one output file, reused buffers; fsynced at the end`, () => readFloor(sources, fl, outDir));
    await fs.rm(outDir, { recursive: true, force: true });
    const readOnly = await timeFloor('floor read-only', userBytes, `a stripe of the ${o.k} data parts read, bytes dropped`, () => readFloor(sources, fl, undefined));
    const verify = await timeFloor('floor read of all parts (verify floor)', userBytes, `a stripe of all ${n} parts read, bytes dropped`, () => readAllPartsFloor(sources, fl));
    const rebuild = await timeFloor('floor rebuild of one part (rebuild floor)', userBytes,
      `part ${LOST_STORE} deleted, the ${n - 1} others read, part ${LOST_STORE} written again, fsynced`, () => rebuildFloor(sources, fl, LOST_STORE));
    for (const dir of floorDirs) await fs.rm(dir, { recursive: true, force: true });
    const blockDirs = layout.stores.map((s) => path.join(s.dir, 'floor-blocks'));
    const blockFiles = await timeFloor('floor write, one file per block', userBytes, 'tmp file + fsync + rename per 1 MiB block, as rain lays blocks out',
      () => writeBlockFileFloor(sources, { ...fl, dirs: blockDirs }));
    await fs.mkdir(outDir, { recursive: true });
    const blockFilesRead = await timeFloor('floor read to a file, one file per block', userBytes,
      `the ${o.k} data block files of a stripe opened, read and closed, the stripe written to one output file; fsynced at the end`,
      () => readBlockFileFloor(sources, { ...fl, dirs: blockDirs }, outDir));
    await fs.rm(outDir, { recursive: true, force: true });
    for (const dir of blockDirs) await fs.rm(dir, { recursive: true, force: true });
    for (const dir of floorDirs) await fs.mkdir(dir, { recursive: true });
    const streams = await timeFloor('floor write through fs streams', userBytes, `the put floor's files through a ReadStream and ${n} WriteStreams, each fsynced at the end`,
      () => writeFloorWithStreams(sources, fl));
    return { write, blockFiles, blockFilesRead, streams, readToFile, readOnly, verify, rebuild };
  } finally {
    for (const dir of floorDirs) await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(outDir, { recursive: true, force: true });
  }
}

async function measureTreeFloors(layout: BenchLayout, tree: SourceTree, o: BenchOptions): Promise<TreeFloorResults> {
  const dirs = layout.stores.map((s) => path.join(s.dir, 'tree-floor'));
  const fl: TreeFloorLayout = { dirs, k: o.k };
  const n = o.k + o.m;
  const all = Array.from({ length: n }, (_, i) => i);
  const outRoot = path.join(layout.out.dir, 'tree-floor');
  try {
    const write = await timeFloor('tree floor write (put floor)', tree.totalBytes, `${n} part files per file, each fsynced, new directories fsynced`, () => writeTreeFloor(tree, fl));
    const readToFile = await timeFloor('tree floor read to files (get floor)', tree.totalBytes, `${o.k} data parts read per file, the file written and fsynced`,
      () => readTreeFloor(tree, fl, all.slice(0, o.k), { outRoot }));
    await fs.rm(outRoot, { recursive: true, force: true });
    const verify = await timeFloor('tree floor read of all parts (verify floor)', tree.totalBytes, `all ${n} parts of every file read`, () => readTreeFloor(tree, fl, all, {}));
    const rebuild = await timeFloor('tree floor rebuild of one part (rebuild floor)', tree.totalBytes, `per file: part ${LOST_STORE} deleted, the ${n - 1} others read, part ${LOST_STORE} written again, fsynced`,
      () => readTreeFloor(tree, fl, all.filter((i) => i !== LOST_STORE), { rewrite: LOST_STORE }));
    return { write, readToFile, verify, rebuild };
  } finally {
    for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(outRoot, { recursive: true, force: true });
  }
}

/**
 * Data set (c), last: every other data set's files are gone by now, so its source and its pool
 * (a million files is ~4 GiB of tmpfs pages for the source alone) have the memory to themselves.
 */
async function runNames(options: BenchOptions, layout: BenchLayout, cli: RainCli, poolBytes: number): Promise<NamesSection> {
  await layout.source.empty();
  for (const store of layout.stores) await store.empty();
  await layout.out.empty();
  // The memory sweep shrank the mounts to its own file's size (a 1 GiB limit failed the generator with ENOSPC).
  const sizes = namesSizes(options);
  await layout.source.resize(sizes.sourceBytes + 256 * MiB);
  for (const store of layout.stores) await store.resize(sizes.perStoreBytes + 256 * MiB);
  const root = path.join(layout.source.dir, 'names');
  const storeDirs = layout.stores.map((s) => path.join(s.dir, 'rain-names'));
  let section: Omit<NamesSection, 'rain' | 'error'> = {
    files: options.names, totalBytes: 0, directories: 0, seed: NAMES_SHAPE.seed, minBytes: NAMES_SHAPE.minBytes, maxBytes: NAMES_SHAPE.maxBytes, generateSeconds: NaN,
  };
  try {
    log(`generating data set (c): ${options.names} files of ${NAMES_SHAPE.minBytes}-${NAMES_SHAPE.maxBytes} B, seed ${NAMES_SHAPE.seed}`);
    const started = process.hrtime.bigint();
    const pool = generateNames(root, { files: options.names, ...NAMES_SHAPE });
    section = { ...section, totalBytes: pool.totalBytes, directories: pool.directories, generateSeconds: seconds(started) };
    log(`names: ${pool.files} files, ${mib(pool.totalBytes)}, ${pool.directories} directories, in ${section.generateSeconds.toFixed(1)} s`);
    const rain = await runNamesPhases({ cli, storeDirs, pool, outDir: layout.out.dir, k: options.k, m: options.m, poolName: 'rain-bench-names', poolBytes, log });
    return { ...section, rain, error: undefined };
  } catch (error) {
    log(`rain (names) failed: ${messageOf(error)}`);
    return { ...section, rain: undefined, error: messageOf(error) };
  } finally {
    for (const dir of storeDirs) await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(root, { recursive: true, force: true });
    await layout.out.empty();
  }
}

async function run(options: BenchOptions): Promise<number> {
  const userBytes = options.sizeMiB * MiB;
  configureQuietWait(options.quietWaitSeconds, log);
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const leftovers = leftoverBenchMounts();
  if (leftovers.length > 0) log(`WARNING: mounts left by an earlier bench that was killed: ${leftovers.join(' ')} (umount them)`);
  const layout = await prepareLayout(options, log);
  const sizes = layoutSizes(options);
  configureWarmUp(layout.warm?.dir);
  // Data set (a)'s phases fill at most a pool (data + parity) and process memory.
  const largeWarmUp = Math.ceil((userBytes * (options.k + options.m)) / options.k) + 512 * MiB;
  setWarmUpBytes(largeWarmUp);
  const machine = describeMachine(layout.stores[0].dir);
  const problems: string[] = [];
  const k = options.k;
  const m = options.m;
  log(`(a) ${options.sizeMiB} MiB in ${options.files} files, k=${k} m=${m}, in ${layout.benchDir} (${layout.mode})`);

  log('generating data set (a)');
  const genStarted = process.hrtime.bigint();
  const largeDir = path.join(layout.source.dir, 'large');
  const sources = await generateSourceFiles(largeDir, userBytes, options.files);
  const generateSeconds = seconds(genStarted);

  let tree: SourceTree | undefined;
  let treeSeconds = 0;
  if (!options.skipTree) {
    log(`generating data set (b): ${options.treeFiles} files of ${options.treeMinKiB}-${options.treeMaxKiB} KiB, seed ${options.treeSeed}`);
    const started = process.hrtime.bigint();
    tree = await generateTree(path.join(layout.source.dir, 'tree'), {
      files: options.treeFiles, minBytes: options.treeMinKiB * 1024, maxBytes: options.treeMaxKiB * 1024, seed: options.treeSeed,
    });
    treeSeconds = seconds(started);
    log(`tree: ${tree.files.length} files, ${mib(tree.totalBytes)}, ${tree.directories} directories`);
  }

  const cli = new RainCli(repoRoot, path.join(layout.benchDir, 'rain-config'));
  await fs.mkdir(path.join(layout.benchDir, 'rain-config'), { recursive: true });
  const rainStores = layout.stores.map((s) => path.join(s.dir, 'rain'));
  // Each pass measures every floor and then rain, so both see the machine in the same state;
  // each row then keeps its fastest pass, since another tenant's load only ever adds time.
  const floorPasses: FloorResults[] = [];
  const rainPasses: RainResults[] = [];
  let rainError: string | undefined;
  for (let pass = 1; pass <= options.passes; pass++) {
    if (options.passes > 1) log(`(a) pass ${pass} of ${options.passes}`);
    try {
      floorPasses.push(await measureFloors(layout, sources, options, userBytes));
    } catch (error) {
      problems.push(`floors (a), pass ${pass}: ${messageOf(error)}`);
      log(`floors failed: ${messageOf(error)}`);
    }
    try {
      rainPasses.push(await runRainPhases({ cli, storeDirs: rainStores, sourceDir: largeDir, sources, outDir: layout.out.dir, k, m, poolName: `rain-bench-${pass}`, log }));
    } catch (error) {
      rainError = messageOf(error);
      log(`rain failed: ${rainError}`);
    } finally {
      for (const dir of rainStores) await fs.rm(dir, { recursive: true, force: true });
      await layout.out.empty();
    }
  }
  const floor = fastestFloors(floorPasses);
  const rain = fastestRain(rainPasses);
  if (rain && rainError) {
    problems.push(`rain (a) failed in one of its passes: ${rainError}`);
    rainError = undefined;
  }

  let ssh: SshPhaseResults = { status: 'skipped', reason: '--skip-ssh' };
  if (!options.skipSsh) {
    try {
      ssh = await runSshPhase({
        repoRoot, workDir: path.join(layout.benchDir, 'ssh'), storeDirs: layout.stores.map((s) => path.join(s.dir, 'ssh')),
        sourceDir: largeDir, sources, outDir: layout.out.dir, k, m, log,
      });
      if (ssh.status === 'skipped') log(`ssh phase skipped: ${ssh.reason}`);
    } catch (error) {
      ssh = { status: 'skipped', reason: `failed: ${messageOf(error)}` };
      problems.push(`ssh phase: ${messageOf(error)}`);
    }
    await layout.out.empty();
  }

  let treeSection: TreeSection | undefined;
  if (tree) {
    setWarmUpBytes(sizes.treePoolBytes + 512 * MiB);
    let treeFloor: TreeFloorResults | undefined;
    let error: string | undefined;
    try {
      treeFloor = await measureTreeFloors(layout, tree, options);
    } catch (e) {
      error = `floors: ${messageOf(e)}`;
      problems.push(`tree floors: ${messageOf(e)}`);
    }
    const treeStores = layout.stores.map((s) => path.join(s.dir, 'rain-tree'));
    let treeRain;
    try {
      treeRain = await runTreePhases({ cli, storeDirs: treeStores, tree, outDir: layout.out.dir, k, m, poolName: 'rain-bench-tree', log });
    } catch (e) {
      error = `${error ? `${error}; ` : ''}rain: ${messageOf(e)}`;
      log(`rain (tree) failed: ${messageOf(e)}`);
    } finally {
      for (const dir of treeStores) await fs.rm(dir, { recursive: true, force: true });
      await layout.out.empty();
    }
    let snapraidSync: Measurement | undefined;
    let snapraidSyncOneChanged: Measurement | undefined;
    let snapraid: SnapraidTreeResults | undefined;
    if (!options.skipPeers && layout.mode === 'tmpfs') {
      try {
        snapraid = await runSnapraidTree({
          tree, k, m, workDir: path.join(layout.benchDir, 'peers'), log,
          disks: layout.stores.map((s, i) => ({ name: `disk-${i}`, dir: path.join(s.dir, 'snapraid-tree') })),
        });
        ({ sync: snapraidSync, syncOneChanged: snapraidSyncOneChanged } = snapraid);
      } catch (e) {
        problems.push(`snapraid (tree): ${messageOf(e)}`);
      }
    }
    treeSection = {
      files: tree.files.length, totalBytes: tree.totalBytes, directories: tree.directories, seed: tree.seed, generateSeconds: treeSeconds,
      floor: treeFloor, rain: treeRain, snapraidSync, snapraidSyncOneChanged, snapraidScrub: snapraid?.scrub, snapraidFix: snapraid?.fix, error,
    };
    // The tree is not needed any more; par2 and the sweep want the room.
    await fs.rm(tree.root, { recursive: true, force: true });
  }

  for (const store of layout.stores) await store.empty();
  setWarmUpBytes(largeWarmUp);
  let peers: PeerReport[] = [];
  try {
    peers = await runPeers({
      workDir: path.join(layout.benchDir, 'peers'),
      scratchDir: layout.out.dir,
      disks: layout.mode === 'tmpfs' ? layout.stores.map((s, i) => ({ name: `disk-${i}`, dir: path.join(s.dir, 'snapraid') })) : undefined,
      sources, k, m, log,
    }, options.skipPeers);
  } catch (error) {
    problems.push(`peers: ${messageOf(error)}`);
  }
  for (const store of layout.stores) await store.empty();
  await layout.out.empty();

  let rssSweep: RssSweepResults | { skipped: string } = { skipped: '--skip-rss-sweep' };
  if (!options.skipRssSweep) {
    // The sweep's large file wants the memory (or disk) that data set (a) occupies.
    await layout.source.empty();
    try {
      rssSweep = await runRssSweep({ cli, layout, k, m, smallBytes: options.rssSmallMiB * MiB, largeBytes: options.rssLargeMiB * MiB, log });
    } catch (error) {
      rssSweep = { skipped: `failed: ${messageOf(error)}` };
      problems.push(`rss sweep: ${messageOf(error)}`);
      log(`rss sweep failed: ${messageOf(error)}`);
    }
  }
  const names = options.names > 0 ? await runNames(options, layout, cli, sizes.namesPoolBytes) : undefined;
  await releaseLayout(layout);

  const results: BenchResults = {
    options, machine, storage: { mode: layout.mode, description: layout.description }, userBytes, generateSeconds,
    floor, rain, rainError, tree: treeSection, ssh, peers, rssSweep, names, problems, totalSeconds: seconds(benchStarted),
  };
  const allProblems = problemsOf(results);
  const text = [
    '',
    `rain benchmark, ${machine.date}: (a) ${options.sizeMiB} MiB in ${options.files} files, k=${k} m=${m}; ${machine.cores} cores ${machine.cpuModel}; ${layout.mode}; node ${machine.node}`,
    '', renderText(mainTable(results)),
    '', `(b) small-file tree`, renderText(treeTable(results)),
    '', renderText(sshTable(results)),
    '', renderText(memoryTable(results)),
    '', renderText(rssSweepTable(results)),
    ...(names ? ['', `(c) pool of ${names.files} small files`, renderText(namesTable(results))] : []),
    '', renderText(issueTargetsTable(results)),
    '', renderText(targetsTable(results)),
    '', renderText(coreGoalsTable(results)),
    '', renderText(peersTable(results)),
    ...(allProblems.length > 0 ? ['', 'problems:', ...allProblems.map((p) => `  - ${p}`)] : []),
    '',
  ].join('\n');
  process.stdout.write(text);
  if (options.writeDoc) {
    const docPath = path.join(repoRoot, 'docs', 'BENCHMARKS.md');
    await fs.mkdir(path.dirname(docPath), { recursive: true });
    await fs.writeFile(docPath, benchmarksMarkdown(results));
    log(`wrote ${docPath}`);
  }
  return rain === undefined || allProblems.length > 0 ? 1 : 0;
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
  if (!settled && !wasInterrupted()) {
    process.stderr.write('bench: stopped with work pending (a promise never settled); the results are incomplete\n');
    process.exitCode = 70;
  }
});

main().then(() => { settled = true; }, (error: unknown) => {
  settled = true;
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
