import type { Manifest, StoreEntry } from '../format/manifest.js';
import { newId } from '../format/ids.js';
import { describeError, ioError, usageError } from '../rain-error.js';
import { storeAt } from '../store/store-set.js';
import { recordPoolStores } from '../store/pool-registry.js';
import { checkPool, type CheckReport } from './check-pool.js';
import type { KeptFiles } from '../dataset/health-tally.js';
import { resolveStorePath } from './init-pool.js';
import { openPool, type OpenPool } from './open-pool.js';

export interface RebuildOptions {
  readonly pool?: string;
  /** OLD (a store path or slot number) = NEW (an empty directory that takes the slot). */
  readonly replace?: readonly string[];
  readonly onPhase?: (phase: string) => void;
  /** File bytes of the data sets checked so far, of all (a progress bar). */
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** Which files' health the report keeps besides the counts (CheckOptions.keepFiles). */
  readonly keepFiles?: KeptFiles;
}

export interface RebuildReport extends CheckReport {
  readonly rebuildActions: string[];
}

/**
 * Restores full redundancy through the initialization protocol: emptied store directories get
 * their identity back, lost slots move to new directories (--replace: the new membership is what
 * the next epoch commits), then every data set is checked with repair on, so each bad block is
 * rebuilt and verified, and catalogs and manifests are brought up to date on every store.
 */
export async function rebuildPool(options: RebuildOptions): Promise<RebuildReport> {
  const pool = await openPool(options.pool);
  const rebuildActions: string[] = [];
  // Stores that hold nothing now: their blocks are restored from k others each (dataset/rebuild-from-k.ts).
  const lostSlots: number[] = [];
  let manifest: Manifest | undefined;
  if (options.replace && options.replace.length > 0) {
    manifest = await replaceStores(pool, options.replace, rebuildActions);
    lostSlots.push(...manifest.stores.filter((s) => !pool.manifest.stores.some((o) => o.slot === s.slot && o.path === s.path)).map((s) => s.slot));
  }
  for (const store of pool.stores) {
    if (manifest?.stores.every((s) => s.path !== store.path)) continue;
    if (store.condition === 'empty') {
      await storeAt(store.path).writeIdentity({ poolId: pool.manifest.poolId, storeId: store.storeId, slot: store.slot });
      rebuildActions.push(`store ${store.slot} (${store.path}) was empty: re-created`);
      lostSlots.push(store.slot);
    } else if (store.condition === 'unreadable' && store.identityDamaged && await holdsBlocksOf(store.path, pool.manifest.poolId)) {
      // Its identity file is damaged and its manifest too, but its blocks name this pool: it is
      // this slot's store (placement never moves a block to another slot), so its identity comes back.
      await storeAt(store.path).writeIdentity({ poolId: pool.manifest.poolId, storeId: store.storeId, slot: store.slot });
      rebuildActions.push(`store ${store.slot} (${store.path}): identity file rewritten (it was damaged: ${store.identityDamaged}; its blocks belong to this pool)`);
    }
  }
  const reopened = await openPool(pool.stores.find((s) => s.condition === 'online')?.path ?? options.pool);
  const report = await checkPool({ pool: options.pool, openedPool: reopened, manifest, repair: true, onPhase: options.onPhase, onProgress: options.onProgress, lostSlots, keepFiles: options.keepFiles });
  return { ...report, changed: report.changed || rebuildActions.length > 0, rebuildActions };
}

/** True when a block of the store (the first one found) carries this pool's id in its checked header. */
async function holdsBlocksOf(storePath: string, poolId: string): Promise<boolean> {
  const store = storeAt(storePath);
  const scan = await store.scan({ detailed: false, repairLayout: false }).catch(() => undefined);
  for (const fileId of (scan?.fileIds ?? []).slice(0, 8)) {
    for (const key of (await store.listFileBlocks(fileId).catch(() => [])).slice(0, 1)) {
      const header = await store.readBlockHeader(fileId, key).catch(() => undefined);
      if (header) return header.poolId === poolId;
    }
  }
  return false;
}

async function replaceStores(pool: OpenPool, replacements: readonly string[], actions: string[]): Promise<Manifest> {
  // Every spec is validated before anything is written, so a bad one leaves all directories untouched.
  const plan: { slot: number; oldPath: string; newPath: string }[] = [];
  for (const spec of replacements) {
    const eq = spec.indexOf('=');
    if (eq <= 0 || eq === spec.length - 1) throw usageError(`--replace expects OLD=NEW (a store path or slot number = a new directory), got '${spec}'`);
    const oldSpec = spec.slice(0, eq);
    const newPath = resolveStorePath(spec.slice(eq + 1));
    const target = pool.manifest.stores.find((s) => String(s.slot) === oldSpec || s.path === resolveOrSelf(oldSpec));
    if (!target) throw usageError(`--replace: ${oldSpec} is not a store of this pool (see 'rain status')`);
    const current = pool.stores.find((s) => s.slot === target.slot);
    if (current?.condition === 'online' || current?.condition === 'read-only') {
      throw usageError(`--replace: store ${target.slot} (${target.path}) is online; only a lost store can be replaced`);
    }
    if (pool.manifest.stores.some((s) => s.path === newPath) || plan.some((p) => p.newPath === newPath)) {
      throw usageError(`--replace: ${newPath} is already a store of this pool`);
    }
    if (plan.some((p) => p.slot === target.slot)) throw usageError(`--replace: store ${target.slot} is named twice`);
    await checkNewStoreDirectory(newPath);
    plan.push({ slot: target.slot, oldPath: target.path, newPath });
  }
  let stores: StoreEntry[] = [...pool.manifest.stores];
  for (const step of plan) {
    const storeId = newId();
    await storeAt(step.newPath).writeIdentity({ poolId: pool.manifest.poolId, storeId, slot: step.slot });
    stores = stores.map((s) => (s.slot === step.slot ? { slot: s.slot, storeId, path: step.newPath } : s));
    actions.push(`store ${step.slot}: ${step.oldPath} replaced by ${step.newPath}`);
  }
  await recordPoolStores(pool.manifest.name, pool.manifest.poolId, stores).catch(() => undefined);
  return { ...pool.manifest, stores };
}

async function checkNewStoreDirectory(dir: string): Promise<void> {
  let probe;
  try {
    probe = await storeAt(dir).probe({ writeProbe: false });
  } catch (error) {
    throw ioError(`--replace: ${dir}: ${describeError(error)}`);
  }
  if (!probe.isDirectory) throw usageError(`--replace: ${dir} does not exist or is not a directory; create it first`);
  if (probe.holdsStore) throw usageError(`--replace: ${dir} already holds a rain store`);
  if (!probe.writable) throw ioError(`--replace: ${dir} is not writable: ${probe.writeError ?? 'write refused'}`);
}

function resolveOrSelf(given: string): string {
  try {
    return resolveStorePath(given);
  } catch {
    return given;
  }
}
