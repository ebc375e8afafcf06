import fs from 'node:fs/promises';
import path from 'node:path';
import type { Scratch } from './rain-cli.js';

const SNAPSHOT_DIR = '.pool-snapshot';

/** A copy of a scratch directory as it stood after a test file's set-up. */
export interface ScratchSnapshot {
  /** Puts the scratch directory back exactly as it was when the snapshot was taken. */
  restore(): Promise<void>;
}

/**
 * Copies everything under `scratch.root` (stores, the rain config dir, source files) aside, so a
 * file whose tests each need a fresh pool builds it once (`rain init` and its puts cost about a
 * CPU-second per command) and every test starts from the same bytes, at the same paths (a pool's
 * manifest and registry hold its stores' absolute paths, so a copy elsewhere would be another
 * pool). Timestamps are kept: a writer's heartbeat that was stale at snapshot time stays stale.
 * Only for pools whose commands have all ended: no worker may still be writing into a store.
 * `only` limits the snapshot to those entries of `scratch.root`.
 */
export async function snapshotScratch(scratch: Scratch, only?: readonly string[]): Promise<ScratchSnapshot> {
  const saved = path.join(scratch.root, SNAPSHOT_DIR);
  await fs.rm(saved, { recursive: true, force: true });
  await fs.mkdir(saved);
  const entries = only ?? (await fs.readdir(scratch.root)).filter((name) => name !== SNAPSHOT_DIR);
  for (const name of entries) {
    await fs.cp(path.join(scratch.root, name), path.join(saved, name), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  }
  return {
    async restore() {
      // With `only`, the rest of the scratch directory (an sshd's keys, say) is left alone.
      for (const name of only ?? await fs.readdir(scratch.root)) {
        if (name !== SNAPSHOT_DIR) await fs.rm(path.join(scratch.root, name), { recursive: true, force: true });
      }
      for (const name of entries) {
        await fs.cp(path.join(saved, name), path.join(scratch.root, name), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
      }
    },
  };
}
