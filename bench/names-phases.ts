import fs from 'node:fs/promises';
import path from 'node:path';
import type { Measurement } from './measurement.js';
import { setWarmUpBytes } from './memory-warm-up.js';
import { namesFilePath, namesRelPath, type NamesPool } from './names-generator.js';
import { jsonOf, numberField, type RainCli } from './rain-cli.js';
import { initPool } from './rain-phases.js';
import { usageDifference, usageOf, type DirUsage } from './store-usage.js';
import { timeRainCommands, withNotes } from './timed-rain.js';

export interface NamesContext {
  readonly cli: RainCli;
  readonly storeDirs: readonly string[];
  readonly pool: NamesPool;
  /** Where get writes its one file, and where the one new file for put is made. */
  readonly outDir: string;
  readonly k: number;
  readonly m: number;
  readonly poolName: string;
  /** What put -r fills (the pool, all stores), for the memory warm-up before it. */
  readonly poolBytes: number;
  readonly log: (text: string) => void;
}

/** `rain ls` of the whole pool: the whole command, and when its first line came. */
export interface ListMeasurement extends Measurement {
  /** Seconds from spawn to the end of the first listed name's line on stdout; undefined if ls printed none. */
  readonly firstLineSeconds: number | undefined;
  /** The first listed name's line (not the column header before it). */
  readonly firstLine: string | undefined;
  /** The files its closing summary line counts. */
  readonly listedFiles: number | undefined;
}

export interface NamesResults {
  /** One `put -r` of all the files into the empty pool (how the pool is made; timed too). */
  readonly putAll: Measurement;
  readonly ls: ListMeasurement;
  /** `rain get` of one existing file, `rain put` of one new one, `rain rm` of one. */
  readonly get: Measurement;
  readonly putOne: Measurement;
  readonly rm: Measurement;
  /** `rain sync SRC --as PREFIX` with nothing changed. */
  readonly sync: Measurement;
  readonly written: DirUsage;
  readonly problems: string[];
}

/** The prefix the files get in the pool. */
const PREFIX = 'names';
/** Memory the commands after put -r are expected to touch: their processes' heaps, no pool bytes. */
const COMMAND_WARM_UP_BYTES = 512 * 1024 * 1024;
const NEW_FILE_BYTES = 2048;

/**
 * Data set (c): the pool of many small files. put -r makes it; then each command a user runs on
 * such a pool, one rain process each, timed from spawn to exit with the peak RSS of every process:
 * ls (and its first line), sync of the unchanged tree, get, put and rm of one file. sync comes
 * before put and rm so the tree it compares is exactly the pool.
 */
export async function runNamesPhases(ctx: NamesContext): Promise<NamesResults> {
  const problems: string[] = [];
  const { cli, storeDirs, pool, k, m } = ctx;
  ctx.log(`rain init (names pool) -k ${k} -m ${m}`);
  await initPool(cli, storeDirs, k, m, ctx.poolName);
  const store = storeDirs[0];
  const before = await usageOf(storeDirs);

  ctx.log(`rain put -r of ${pool.files} small files`);
  setWarmUpBytes(ctx.poolBytes + COMMAND_WARM_UP_BYTES);
  // No --json: its document lists every file.
  const put = await timeRainCommands(cli, `rain put -r (${pool.files} files)`, pool.totalBytes, [['put', '-p', store, '-r', pool.root, '--as', PREFIX, '--quiet']], [0], problems);
  const written = usageDifference(await usageOf(storeDirs), before);
  const putAll = withNotes(put.measurement, true,
    `${pool.files} files of ${pool.minBytes}-${pool.maxBytes} B in ${pool.directories} directories; wrote ${(written.bytes / 1048576).toFixed(0)} MiB in ${written.files} files on ${storeDirs.length} stores`);
  setWarmUpBytes(COMMAND_WARM_UP_BYTES);

  const ls = await listPool(ctx, store, problems);
  const sync = await syncUnchanged(ctx, store, problems);

  const gotIndex = Math.floor(pool.files / 2);
  const gotName = `${PREFIX}/${namesRelPath(pool, gotIndex)}`;
  const gotFile = path.join(ctx.outDir, 'got.bin');
  ctx.log(`rain get of one file (${gotName})`);
  const get = await timeRainCommands(cli, 'rain get of one file', 0, [['get', '-p', store, gotName, '-o', gotFile, '--quiet']], [0], problems);
  const same = get.measurement.ok && await sameBytes(gotFile, namesFilePath(pool, gotIndex));
  if (get.measurement.ok && !same) problems.push(`names get: ${gotName} came back with other bytes`);
  await fs.rm(gotFile, { force: true });
  const getResult = withNotes(get.measurement, same, `${gotName}; ${same ? 'bytes match the source' : 'BYTES DIFFER'}`);

  const newFile = path.join(ctx.outDir, 'new.bin');
  await fs.writeFile(newFile, Buffer.alloc(NEW_FILE_BYTES, 0x6e));
  const newName = `${PREFIX}/new/one-more.bin`;
  ctx.log(`rain put of one new file (${newName})`);
  const putOne = await timeRainCommands(cli, 'rain put of one file', NEW_FILE_BYTES, [['put', '-p', store, newFile, '--as', newName, '--quiet']], [0], problems);
  await fs.rm(newFile, { force: true });

  const removedName = `${PREFIX}/${namesRelPath(pool, Math.floor(pool.files / 3))}`;
  ctx.log(`rain rm of one file (${removedName})`);
  const rm = await timeRainCommands(cli, 'rain rm of one file', 0, [['rm', '-p', store, removedName, '--quiet']], [0], problems);

  return {
    putAll, ls, sync, get: getResult,
    putOne: withNotes(putOne.measurement, true, `${newName}, ${NEW_FILE_BYTES} B, into the pool of ${pool.files}`),
    rm: withNotes(rm.measurement, true, removedName),
    written, problems,
  };
}

/** ls of the whole pool, its output counted as it streams (a million lines are not kept). */
async function listPool(ctx: NamesContext, store: string, problems: string[]): Promise<ListMeasurement> {
  ctx.log('rain ls of the whole pool');
  let lines = 0;
  let tail = '';
  const run = await timeRainCommands(ctx.cli, 'rain ls (whole pool)', 0, [['ls', '-p', store]], [0], problems, {
    onStdout: (_index, chunk) => {
      for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) lines++;
      tail = (tail + chunk.toString('utf8')).slice(-4096);
    },
  });
  // The first listed name, not the column header ls prints before it.
  const first = run.runs[0]?.firstStdoutLines.find((line) => !/^\s*size\s+data sets\s+health\s+name$/.test(line.text));
  // The closing line reads "N files, SIZE, D directories".
  const summary = tail.trimEnd().split('\n').pop() ?? '';
  const counted = /^(\d+) files?\b/.exec(summary);
  const listedFiles = counted ? Number(counted[1]) : undefined;
  const right = listedFiles === ctx.pool.files;
  if (run.measurement.ok && !right) problems.push(`names ls: expected ${ctx.pool.files} files, its last line says '${summary.slice(0, 120)}'`);
  const measurement = withNotes(run.measurement, right,
    `${lines} lines; first line after ${first ? `${first.seconds.toFixed(2)} s: '${first.text.slice(0, 60)}'` : 'never'}; last: '${summary.slice(0, 80)}'`);
  return { ...measurement, firstLineSeconds: first?.seconds, firstLine: first?.text, listedFiles };
}

/**
 * sync of the tree just put, nothing changed: what an hourly cron sync of a quiet tree costs. A
 * file whose times were too close to the put's own clock cannot be trusted by its stamp (the racy
 * rule), and the first sync reads and restamps it; when that happened, a second sync is the
 * steady state and is the row, the first one's time in its notes.
 */
async function syncUnchanged(ctx: NamesContext, store: string, problems: string[]): Promise<Measurement> {
  const command = ['sync', '-p', store, ctx.pool.root, '--as', PREFIX, '--json'];
  ctx.log('rain sync of the unchanged tree');
  let run = await timeRainCommands(ctx.cli, 'rain sync (unchanged tree)', 0, [command], [0], problems, { wholeStdout: true });
  let report = jsonOf(run.stdouts[0] ?? '');
  const notes: string[] = [];
  const restamped = numberField(report, 'restamped') ?? 0;
  if (run.measurement.ok && restamped > 0) {
    notes.push(`a first sync restamped ${restamped} files in ${run.measurement.seconds.toFixed(2)} s; this is the second`);
    ctx.log('rain sync of the unchanged tree again (the first restamped files)');
    run = await timeRainCommands(ctx.cli, 'rain sync (unchanged tree)', 0, [command], [0], problems, { wholeStdout: true });
    report = jsonOf(run.stdouts[0] ?? '');
  }
  const changed = ['added', 'updated', 'deleted'].map((key) => {
    const value = report?.[key];
    return Array.isArray(value) ? value.length : undefined;
  });
  const unchanged = numberField(report, 'unchanged');
  const right = report !== undefined && changed.every((n) => n === 0) && unchanged === ctx.pool.files;
  if (run.measurement.ok && !right) {
    problems.push(`names sync: expected ${ctx.pool.files} unchanged and nothing added, updated or deleted; got ${report ? `unchanged ${unchanged}, added/updated/deleted ${changed.join('/')}` : 'no report'}`);
  }
  return withNotes(run.measurement, right, ...notes,
    report ? `${unchanged} unchanged; read ${numberField(report, 'bytesRead') ?? '?'} B, restamped ${numberField(report, 'restamped') ?? '?'}` : 'no report');
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([fs.readFile(a), fs.readFile(b)]).catch(() => [undefined, undefined]);
  return x !== undefined && y !== undefined && x.equals(y);
}
