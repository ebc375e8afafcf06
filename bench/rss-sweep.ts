import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BenchLayout } from './bench-layout.js';
import { MEMORY_HEADROOM_BYTES } from './bench-layout.js';
import { generateSourceFiles, MiB } from './data-generator.js';
import type { Measurement } from './measurement.js';
import { setWarmUpBytes } from './memory-warm-up.js';
import { initPool } from './rain-phases.js';
import type { RainCli } from './rain-cli.js';
import { availableMemoryBytes, freeDiskBytes } from './scratch-area.js';
import { timeRainCommands, withNotes } from './timed-rain.js';

export interface RssSweepRow {
  readonly sizeBytes: number;
  readonly put: Measurement;
  readonly get: Measurement;
}

export interface RssSweepResults {
  readonly requestedLargeBytes: number;
  /** Where the file and the stores were, and why the large file is smaller than asked, if it is. */
  readonly placement: string;
  readonly small: RssSweepRow;
  readonly large: RssSweepRow;
  readonly problems: string[];
}

export interface RssSweepContext {
  readonly cli: RainCli;
  readonly layout: BenchLayout;
  readonly k: number;
  readonly m: number;
  readonly smallBytes: number;
  readonly largeBytes: number;
  readonly log: (text: string) => void;
}

const GiB = 1024 * MiB;

function human(bytes: number): string {
  return bytes >= GiB ? `${(bytes / GiB).toFixed(bytes % GiB === 0 ? 0 : 1)} GiB` : `${Math.round(bytes / MiB)} MiB`;
}

interface Placement {
  readonly largeBytes: number;
  readonly sourceDir: string;
  readonly text: string;
}

/**
 * The large file's size. On tmpfs the file and its pool (1.5x the file for 4+2) must both fit in
 * the memory available less the headroom left to the rest of the machine; in a plain directory,
 * on its disk. A size that does not fit is halved until it does, and the text says so.
 */
async function place(ctx: RssSweepContext): Promise<Placement> {
  const { layout, k, m } = ctx;
  const need = (size: number): number => size * (1 + ((k + m) / k) * 1.05);
  const onTmpfs = layout.mode === 'tmpfs';
  const room = onTmpfs ? (availableMemoryBytes() ?? 0) - MEMORY_HEADROOM_BYTES : ((await freeDiskBytes(layout.benchDir)) ?? 0) / 1.1;
  const where = onTmpfs
    ? `memory available less ${human(MEMORY_HEADROOM_BYTES)} headroom: ${human(Math.max(0, room))}`
    : `free on the disk: ${human(Math.max(0, room))}`;
  const sourceDir = path.join(layout.source.dir, 'rss');
  let size = ctx.largeBytes;
  while (size > ctx.smallBytes && need(size) > room) size = Math.floor(size / 2 / MiB) * MiB;
  if (size <= ctx.smallBytes) throw new Error(`no large-file size above ${human(ctx.smallBytes)} fits with its pool (${where})`);
  const text = size === ctx.largeBytes
    ? `file and stores ${onTmpfs ? 'on tmpfs' : 'in the plain directory'}`
    : `file and stores ${onTmpfs ? 'on tmpfs' : 'in the plain directory'}; ${human(ctx.largeBytes)} and its pool need ${human(need(ctx.largeBytes))} (${where}), so halved to ${human(size)}`;
  return { largeBytes: size, sourceDir, text };
}

async function measureOne(ctx: RssSweepContext, sizeBytes: number, sourceDir: string, problems: string[]): Promise<RssSweepRow> {
  const { cli, layout, k, m } = ctx;
  const label = human(sizeBytes);
  ctx.log(`rss sweep: generating ${label}`);
  await fs.rm(sourceDir, { recursive: true, force: true });
  const [source] = await generateSourceFiles(sourceDir, sizeBytes, 1);
  const storeDirs = layout.stores.map((s) => path.join(s.dir, `rss-${sizeBytes}`));
  setWarmUpBytes(Math.ceil((sizeBytes * (k + m)) / k) + 512 * MiB);
  try {
    await initPool(cli, storeDirs, k, m, `rain-bench-rss-${sizeBytes}`);
    ctx.log(`rss sweep: put ${label}`);
    const put = await timeRainCommands(cli, `rain put, ${label} file`, sizeBytes, [['put', '-p', storeDirs[0], source.path, '--as', 'file', '--json']], [0], problems);
    ctx.log(`rss sweep: get ${label} to stdout`);
    // To stdout, hashed by the bench: the output needs no room (the pool already fills memory).
    const hash = createHash('sha256');
    const get = await timeRainCommands(cli, `rain get, ${label} file`, sizeBytes, [['get', '-p', storeDirs[0], 'file', '-o', '-']], [0], problems, { onStdout: (_, chunk) => hash.update(chunk) });
    const digest = hash.digest('hex');
    const matches = digest === source.sha256;
    if (get.measurement.ok && !matches) problems.push(`rss sweep: get of the ${label} file gave other bytes`);
    return {
      sizeBytes,
      put: put.measurement,
      get: withNotes(get.measurement, matches, matches ? 'to stdout, sha256 matches' : 'to stdout, OTHER BYTES'),
    };
  } finally {
    for (const dir of storeDirs) await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(sourceDir, { recursive: true, force: true });
  }
}

/** Peak RSS of put and get for a small and a large file, on a fresh pool each. */
export async function runRssSweep(ctx: RssSweepContext): Promise<RssSweepResults> {
  const problems: string[] = [];
  const placement = await place(ctx);
  const { layout, k, m } = ctx;
  if (layout.mode === 'tmpfs') {
    for (const store of layout.stores) await store.resize(Math.ceil((placement.largeBytes / k) * 1.1) + 256 * MiB);
    await layout.source.resize(placement.largeBytes + 256 * MiB);
  }
  ctx.log(`rss sweep: ${human(ctx.smallBytes)} and ${human(placement.largeBytes)} (${placement.text}); ${k}+${m}`);
  const small = await measureOne(ctx, ctx.smallBytes, placement.sourceDir, problems);
  const large = await measureOne(ctx, placement.largeBytes, placement.sourceDir, problems);
  return { requestedLargeBytes: ctx.largeBytes, placement: placement.text, small, large, problems };
}
