import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NAMES_SHAPE, type BenchOptions } from './bench-options.js';
import { onCleanup } from './cleanup.js';
import { availableMemoryBytes, freeDiskBytes, mountTmpfs, plainArea, type ScratchArea } from './scratch-area.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
/** Memory left to the rest of the machine (other engineers' tests) while the tmpfs mounts are full. */
export const MEMORY_HEADROOM_BYTES = 3 * GiB;

/**
 * Where everything lives. `benchDir` is always on disk (the pool registry, SnapRAID's first
 * content file, ssh keys); the data, the k+m stores and the get outputs are each a tmpfs of their
 * own, or plain subdirectories of --dir.
 */
export interface BenchLayout {
  readonly mode: 'tmpfs' | 'dir';
  /** One sentence for the report: what the storage was and why. */
  readonly description: string;
  readonly benchDir: string;
  readonly source: ScratchArea;
  readonly stores: readonly ScratchArea[];
  readonly out: ScratchArea;
  /** tmpfs mode: a tmpfs for the memory warm-up file (memory-warm-up.ts). */
  readonly warm: ScratchArea | undefined;
}

export interface LayoutSizes {
  readonly sourceBytes: number;
  readonly storeBytes: number;
  readonly outBytes: number;
  /** What the tree's pool fills on tmpfs, all stores together (whole pages per small file). */
  readonly treePoolBytes: number;
  /** What data set (c)'s pool fills, all stores together. */
  readonly namesPoolBytes: number;
  /** The most the run holds at once (what must fit in RAM, or on the disk). */
  readonly peakBytes: number;
}

/** Upper bound of the small-file tree's bytes (every file at the largest size). */
export function treeUpperBytes(o: BenchOptions): number {
  return o.skipTree ? 0 : o.treeFiles * o.treeMaxKiB * KiB;
}

/**
 * Data set (c) on tmpfs: each source file (at most 4 KiB) takes one page, and its inode ~1 KiB
 * of kernel memory outside the size limit; per store, a k-th of the bytes in packs (shared data
 * sets of many small files) plus the name's catalog record in segments, ~0.8 KiB (PERFORMANCE.md
 * §5.2: 627 MB per store for 800,000 names). Measured with 20,000 names, 4+2: 1.2 KB per name and
 * store in all; the estimate leaves a third more.
 */
export function namesSizes(o: BenchOptions): { sourceBytes: number; perStoreBytes: number; sourceInodeBytes: number } {
  if (o.names === 0) return { sourceBytes: 0, perStoreBytes: 0, sourceInodeBytes: 0 };
  const averageBytes = (NAMES_SHAPE.minBytes + NAMES_SHAPE.maxBytes) / 2;
  return {
    sourceBytes: o.names * 4 * KiB + 64 * MiB,
    perStoreBytes: Math.ceil(o.names * ((averageBytes / o.k) * 1.1 + KiB)) + 64 * MiB,
    sourceInodeBytes: o.names * KiB,
  };
}

/**
 * tmpfs size limits from the data size. The limits are generous (a limit costs nothing until
 * filled); peakBytes is what is really held at the worst moment: the sources, one pool (rain or a
 * peer: data + parity) and one set of get outputs. Between tools the stores are emptied.
 */
export function layoutSizes(o: BenchOptions): LayoutSizes {
  const data = o.sizeMiB * MiB;
  const tree = treeUpperBytes(o);
  // A small file costs whole 4 KiB pages on tmpfs: its block (a k-th of it plus a header) and its
  // catalog record on every store.
  const treePerStore = o.skipTree ? 0 : o.treeFiles * (Math.ceil((o.treeMaxKiB * KiB) / o.k / (4 * KiB) + 1) + 2) * 4 * KiB;
  const names = namesSizes(o);
  const sourceBytes = Math.ceil(data * 1.6) + tree + names.sourceBytes + 256 * MiB; // par2 adds 50% recovery files next to the data
  const storeBytes = Math.ceil(Math.max((data / o.k) * 1.15, treePerStore, names.perStoreBytes)) + 256 * MiB;
  const outBytes = Math.ceil(Math.max(data * ((o.k + o.m) / o.k) + data / o.files, tree * 1.2)) + 256 * MiB; // zfec's shares land here
  // Data set (c) runs last, when every other data set's files are gone.
  const namesPeak = names.sourceBytes + names.sourceInodeBytes + names.perStoreBytes * (o.k + o.m);
  const peakBytes = Math.max(data + tree + Math.max(data * ((o.k + o.m) / o.k), treePerStore * (o.k + o.m)) + Math.max(data, tree), namesPeak);
  return { sourceBytes, storeBytes, outBytes, treePoolBytes: treePerStore * (o.k + o.m), namesPoolBytes: names.perStoreBytes * (o.k + o.m), peakBytes };
}

function human(bytes: number): string {
  return bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${Math.round(bytes / MiB)} MiB`;
}

export async function prepareLayout(o: BenchOptions, log: (text: string) => void): Promise<BenchLayout> {
  const sizes = layoutSizes(o);
  const isRoot = process.getuid?.() === 0;
  const plain = o.plainDir !== undefined || !isRoot;
  const parent = path.resolve(o.plainDir ?? os.tmpdir());
  await fs.mkdir(parent, { recursive: true });
  const benchDir = await fs.mkdtemp(path.join(parent, 'rain-bench-'));
  if (o.keep) log(`keeping ${benchDir}`);
  // Registered first, so it runs last: after every mount inside it is gone.
  else onCleanup(`rm -r ${benchDir}`, () => fs.rm(benchDir, { recursive: true, force: true }));
  const storeNames = Array.from({ length: o.k + o.m }, (_, i) => `store-${i}`);

  if (plain) {
    const free = await freeDiskBytes(benchDir);
    if (free !== undefined && free < sizes.peakBytes * 1.2) {
      log(`WARNING: ${human(free)} free in ${benchDir}; the run holds up to about ${human(sizes.peakBytes)} at once`);
    }
    const why = o.plainDir !== undefined ? '--dir was given' : 'not root, so no tmpfs mounts';
    return {
      mode: 'dir',
      description: `plain directories in ${benchDir} (${why}): the stores share one file system and one disk`,
      benchDir,
      source: await plainArea(path.join(benchDir, 'source')),
      stores: await Promise.all(storeNames.map((n) => plainArea(path.join(benchDir, n)))),
      out: await plainArea(path.join(benchDir, 'out')),
      warm: undefined,
    };
  }

  const available = availableMemoryBytes();
  if (available !== undefined && available < sizes.peakBytes + MEMORY_HEADROOM_BYTES) {
    throw new Error(`the run holds up to ${human(sizes.peakBytes)} in tmpfs at once, but only ${human(available)} of memory is available `
      + `(and ${human(MEMORY_HEADROOM_BYTES)} is left to the rest of the machine): use a smaller --size-mib / --tree-files / --names, or --dir PATH`);
  }
  log(`mounting ${o.k + o.m + 2} tmpfs: source ${human(sizes.sourceBytes)}, ${o.k + o.m} stores of ${human(sizes.storeBytes)}, out ${human(sizes.outBytes)} (limits; about ${human(sizes.peakBytes)} used at most)`);
  const source = await mountTmpfs(path.join(benchDir, 'source'), sizes.sourceBytes);
  const stores: ScratchArea[] = [];
  for (const name of storeNames) stores.push(await mountTmpfs(path.join(benchDir, name), sizes.storeBytes));
  const out = await mountTmpfs(path.join(benchDir, 'out'), sizes.outBytes);
  // Its limit is all of memory; what it holds is capped by the warm-up itself.
  const warm = await mountTmpfs(path.join(benchDir, 'warm'), available ?? sizes.peakBytes);
  return {
    mode: 'tmpfs',
    description: `every store directory a tmpfs of its own (${o.k + o.m} mounts of ${human(sizes.storeBytes)}), the source data and the get outputs on two more; `
      + 'so the figures are CPU and memory bandwidth, not a disk',
    benchDir, source, stores, out, warm,
  };
}

/** Unmounts (or removes) every area; the cleanup stack does the same on failure or Ctrl-C. */
export async function releaseLayout(layout: BenchLayout): Promise<void> {
  for (const area of [layout.warm, layout.out, ...layout.stores, layout.source].reverse()) await area?.release().catch(() => undefined);
}
