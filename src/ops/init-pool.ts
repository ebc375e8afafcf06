import { CURRENT_POOL_FORMAT, RESPONSIBILITY_VERSION, type Manifest } from '../format/manifest.js';
import { newId } from '../format/ids.js';
import { checkNewPoolGeometry, DEFAULT_BLOCK_SIZE_BYTES } from '../format/pool-limits.js';
import { describeError, errnoCode, ioError, usageError } from '../rain-error.js';
import { notice } from './notices.js';
import { poolNamed, registerPool } from '../store/pool-registry.js';
import { isRemoteStorePath, parseStoreLocation } from '../store/store-location.js';
import type { DirectoryProbe } from '../store/store-probe.js';
import { storeAt } from '../store/store-set.js';

export interface InitOptions {
  readonly k: number;
  readonly m: number;
  readonly blockSizeBytes?: number;
  readonly name?: string;
  readonly storePaths: readonly string[];
}

export interface InitResult {
  readonly manifest: Manifest;
  /** What is allowed but unwise about the stores (one file system, very different sizes), one line each. */
  readonly warnings: string[];
  /** About how much file data fits (undefined when a store's free space is unknown). */
  readonly usableBytes?: number;
}

/**
 * Creates a pool: every store directory is claimed by exclusively creating its identity file, so
 * two `init`s over the same directory cannot both succeed, and a directory that already holds a
 * store is refused. If any store fails, the ones already claimed are released again.
 */
export async function initPool(options: InitOptions): Promise<InitResult> {
  const blockSizeBytes = options.blockSizeBytes ?? DEFAULT_BLOCK_SIZE_BYTES;
  const geometryProblem = checkNewPoolGeometry(options.k, options.m, blockSizeBytes);
  if (geometryProblem) throw usageError(geometryProblem);
  const storePaths = options.storePaths.map(resolveStorePath);
  if (storePaths.length < options.k + options.m) {
    throw usageError(`${storePaths.length} stores given, but k + m = ${options.k + options.m} are needed (one block of each data set per store)`);
  }
  if (options.name !== undefined) await refuseNameInUse(options.name);
  const probes = await Promise.all(storePaths.map(probeForInit));
  checkDistinct(storePaths, probes);
  storePaths.forEach((storePath, i) => checkUsableDirectory(storePath, probes[i]));
  storePaths.forEach((storePath, i) => {
    for (const problem of probes[i].mountProblems) notice(`warning: ${storePath}: ${problem}; rain's crash safety needs it (see 'Mounts' in docs/USER-GUIDE.md)`);
  });

  const poolId = newId();
  const manifest: Manifest = {
    poolId,
    name: options.name ?? `pool-${poolId.slice(0, 8)}`,
    k: options.k,
    m: options.m,
    blockSizeBytes,
    epoch: 1,
    responsibilityVersion: RESPONSIBILITY_VERSION,
    formatVersion: CURRENT_POOL_FORMAT,
    stores: storePaths.map((p, slot) => ({ slot, storeId: newId(), path: p })),
    createdAt: new Date().toISOString(),
  };
  const claimed: string[] = [];
  try {
    for (const store of manifest.stores) {
      try {
        await storeAt(store.path).publishIdentity({ poolId, storeId: store.storeId, slot: store.slot });
      } catch (error) {
        if (errnoCode(error) === 'EEXIST') throw usageError(`${store.path} already holds a rain store; use another directory or the existing pool`);
        throw ioError(`cannot write to ${store.path}: ${describeError(error)}`);
      }
      claimed.push(store.path);
      await storeAt(store.path).writeManifest(manifest);
    }
  } catch (error) {
    for (const storePath of claimed) await storeAt(storePath).removeMarkers().catch(() => undefined);
    throw error;
  }
  for (const store of manifest.stores) await storeAt(store.path).prepareIntentDirectories().catch(() => undefined);
  await registerPool({ name: manifest.name, poolId, storePaths, stores: manifest.stores }).catch(() => undefined);
  return { manifest, warnings: placementWarnings(storePaths, probes), usableBytes: usableBytesOf(options.k, options.m, probes) };
}

/** A name is how cron finds its pool (`sync -p docs`): a second pool must never take it over silently. */
async function refuseNameInUse(name: string): Promise<void> {
  // An unreadable registry cannot be checked, and the new pool's registration will fail the same way.
  const existing = await poolNamed(name).catch(() => undefined);
  if (!existing) return;
  throw usageError(`the name ${name} is in use by pool ${existing.poolId.slice(0, 8)} (stores ${existing.storePaths.join(', ')}); choose another --name, or run 'rain pools forget ${name}' first (it removes only the registry entry)`);
}

/**
 * Placement is by hash, not by free space, so every store receives about the same share of the
 * blocks: the pool is full when its smallest store is, and holds about n x (smallest free) x k/(k+m) of data.
 */
function usableBytesOf(k: number, m: number, probes: readonly DirectoryProbe[]): number | undefined {
  const free = probes.map((p) => p.freeBytes);
  if (free.some((f) => f === undefined)) return undefined;
  return Math.floor((Math.min(...(free as number[])) * probes.length * k) / (k + m));
}

/** Stores sharing one file system fail together (one disk can take more than m blocks of a data set); very unequal stores waste the larger ones. */
export function placementWarnings(storePaths: readonly string[], probes: readonly DirectoryProbe[]): string[] {
  const warnings: string[] = [];
  const groups = new Map<string, string[]>();
  storePaths.forEach((p, i) => {
    const probe = probes[i];
    if (probe.deviceId === undefined) return;
    // Device numbers are per host: only stores on the same host are compared.
    const location = parseStoreLocation(p);
    const host = 'host' in location ? `${location.host}:${location.port ?? ''}` : '';
    const key = `${host}/${probe.deviceId}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  });
  for (const [key, paths] of groups) {
    if (paths.length > 1) warnings.push(`${paths.join(', ')} are on one file system (device ${key.slice(key.lastIndexOf('/') + 1)}): losing it loses ${paths.length} stores at once; put each store on its own disk`);
  }
  const sized = storePaths.map((p, i) => ({ p, total: probes[i].totalBytes })).filter((s): s is { p: string; total: number } => s.total !== undefined && s.total > 0);
  if (sized.length > 1) {
    const smallest = sized.reduce((a, b) => (b.total < a.total ? b : a));
    const largest = sized.reduce((a, b) => (b.total > a.total ? b : a));
    if (largest.total > 2 * smallest.total) {
      warnings.push(`store sizes differ more than 2x (${smallest.p}: ${formatBytesShort(smallest.total)}, ${largest.p}: ${formatBytesShort(largest.total)}): every store gets the same share, so the pool is full when ${smallest.p} is`);
    }
  }
  return warnings;
}

function formatBytesShort(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A local directory becomes an absolute path; an ssh:// location is validated and kept as a URL. */
export function resolveStorePath(given: string): string {
  const location = parseStoreLocation(given);
  if ('error' in location) throw usageError(location.error);
  return location.kind === 'ssh' ? location.url : location.path;
}

async function probeForInit(storePath: string): Promise<DirectoryProbe> {
  try {
    return await storeAt(storePath).probe({ writeProbe: true });
  } catch (error) {
    throw ioError(`${storePath}: ${describeError(error)}`);
  }
}

function checkDistinct(storePaths: readonly string[], probes: readonly DirectoryProbe[]): void {
  const seen = new Map<string, string>();
  storePaths.forEach((p, i) => {
    // Two hosts may both have /data; only a local path is compared by where it really leads.
    const real = isRemoteStorePath(p) ? p : probes[i].realPath ?? p;
    const earlier = seen.get(real);
    if (earlier) throw usageError(`${p} and ${earlier} are the same directory; each store must be a different directory`);
    seen.set(real, p);
  });
}

function checkUsableDirectory(storePath: string, probe: DirectoryProbe): void {
  if (probe.error === 'ENOENT') throw usageError(`${storePath} does not exist; create the directory (on the disk it should use) first`);
  if (probe.error !== undefined) throw ioError(`${storePath} cannot be read (${probe.error}); fix its permissions or mount`);
  if (!probe.isDirectory) throw usageError(`${storePath} is not a directory`);
  if (probe.holdsStore) throw usageError(`${storePath} already holds a rain store; use another directory or the existing pool`);
  // Root ignores permission bits, so the probe was a real write (this also catches read-only mounts).
  if (!probe.writable) throw ioError(`${storePath} is not writable (${probe.writeError ?? 'write refused'}); fix its permissions or mount`);
}
