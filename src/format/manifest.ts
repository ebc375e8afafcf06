import { isEpoch } from './epoch-number.js';
import { isId } from './ids.js';
import { checkGeometry } from './pool-limits.js';
import { isRecord, sealJson, unsealJson } from './sealed-json.js';

export const MANIFEST_FORMAT = 'rain-pool/1';
/**
 * A pool whose stores may hold catalog segments (docs/FORMAT.md §4.1). A rain that does not know
 * segments must not open such a pool (it would miss every record in one and could take the
 * blocks of those files for an unfinished write): its decoder rejects this format string.
 */
export const MANIFEST_FORMAT_V2 = 'rain-pool/2';
/**
 * A pool whose records may carry tree entries (docs/FORMAT.md §4, "Tree entries": modes, times,
 * owners, directories, symlinks, hard-link groups) and names with escapes. A rain that knows only
 * format 2 would drop those members when it copies a record, and take a name with an escape for
 * a damaged record: its decoder rejects this format string.
 */
export const MANIFEST_FORMAT_V3 = 'rain-pool/3';
/** What new pools are made with and what a check converts an older pool to. */
export const CURRENT_POOL_FORMAT = 3;
export const STORE_IDENTITY_FORMAT = 'rain-store/1';
/** Bumped whenever the responsibility or placement function changes, so mixed versions refuse to run together. */
export const RESPONSIBILITY_VERSION = 1;

export interface StoreEntry {
  readonly slot: number;
  readonly storeId: string;
  readonly path: string;
}

/** What the check that committed an epoch found; lets a concurrent `check` report the winner's result. */
export interface LastCheck {
  readonly verdict: 'healthy' | 'degraded' | 'lost';
  readonly finishedAt: string;
  readonly datasets: number;
  readonly repairedBlocks: number;
  readonly lostDatasets: number;
  /** Set by a partial check (--percent, --older-than): `datasets` of `totalDatasets` were read. */
  readonly scope?: LastCheckScope;
}

/** The share of the pool a partial check read (docs/FORMAT.md §3). */
export interface LastCheckScope {
  readonly percent?: number;
  readonly olderThanDays?: number;
  readonly totalDatasets: number;
}

/** The pool's manifest: identical on every store at a given epoch. */
export interface Manifest {
  readonly poolId: string;
  readonly name: string;
  readonly k: number;
  readonly m: number;
  readonly blockSizeBytes: number;
  readonly epoch: number;
  readonly responsibilityVersion: number;
  readonly stores: readonly StoreEntry[];
  readonly createdAt: string;
  readonly lastCheck?: LastCheck;
  /** 1 (`rain-pool/1`, absent), 2 (`rain-pool/2`: catalog segments and packs) or 3 (`rain-pool/3`: tree entries too). */
  readonly formatVersion?: 1 | 2 | 3;
}

/** Whether commits may write catalog segments: only in a pool that older rain versions refuse to open. */
export function allowsCatalogSegments(manifest: Pick<Manifest, 'formatVersion'>): boolean {
  return (manifest.formatVersion ?? 1) >= 2;
}

/** Whether records may carry tree entries and escaped names (format 3). */
export function allowsTreeEntries(manifest: Pick<Manifest, 'formatVersion'>): boolean {
  return (manifest.formatVersion ?? 1) >= 3;
}

const FORMAT_NAMES: Readonly<Record<1 | 2 | 3, string>> = { 1: MANIFEST_FORMAT, 2: MANIFEST_FORMAT_V2, 3: MANIFEST_FORMAT_V3 };

/** Written once into each store: which pool and slot this directory belongs to. */
export interface StoreIdentity {
  readonly poolId: string;
  readonly storeId: string;
  readonly slot: number;
}

export function encodeManifest(manifest: Manifest): string {
  const problem = validateManifest(manifest);
  if (problem) throw new Error(`refusing to write an invalid manifest: ${problem}`);
  const { formatVersion, ...rest } = manifest;
  return sealJson({ format: FORMAT_NAMES[formatVersion ?? 1], ...rest });
}

export function decodeManifest(text: string): { ok: true; manifest: Manifest } | { ok: false; reason: string } {
  const unsealed = unsealJson(text);
  if (!unsealed.ok) return unsealed;
  const body = unsealed.body;
  const formatVersion = isRecord(body) ? ([1, 2, 3] as const).find((v) => FORMAT_NAMES[v] === body.format) : undefined;
  if (!isRecord(body) || formatVersion === undefined) return { ok: false, reason: 'not a rain manifest' };
  const stores = Array.isArray(body.stores) ? body.stores : [];
  const manifest: Manifest = {
    poolId: String(body.poolId),
    name: String(body.name),
    k: Number(body.k),
    m: Number(body.m),
    blockSizeBytes: Number(body.blockSizeBytes),
    epoch: Number(body.epoch),
    responsibilityVersion: Number(body.responsibilityVersion),
    createdAt: String(body.createdAt),
    stores: stores.map((s: unknown) => {
      const r = isRecord(s) ? s : {};
      return { slot: Number(r.slot), storeId: String(r.storeId), path: String(r.path) };
    }),
    ...(isRecord(body.lastCheck) ? { lastCheck: body.lastCheck as unknown as LastCheck } : {}),
    ...(formatVersion === 1 ? {} : { formatVersion }),
  };
  const problem = validateManifest(manifest);
  return problem ? { ok: false, reason: problem } : { ok: true, manifest };
}

export function validateManifest(m: Manifest): string | undefined {
  if (!isId(m.poolId)) return 'bad pool id';
  const geometry = checkGeometry(m.k, m.m, m.blockSizeBytes);
  if (geometry) return geometry;
  if (!isEpoch(m.epoch)) return 'bad epoch';
  if (m.responsibilityVersion !== RESPONSIBILITY_VERSION) return `responsibility version ${m.responsibilityVersion} is not supported by this rain`;
  if (m.stores.length < m.k + m.m) return `manifest lists ${m.stores.length} stores, fewer than k+m = ${m.k + m.m}`;
  const slots = new Set<number>();
  for (const s of m.stores) {
    if (!Number.isInteger(s.slot) || s.slot < 0 || slots.has(s.slot)) return `bad or duplicate store slot ${s.slot}`;
    if (!isId(s.storeId)) return 'bad store id';
    if (s.path.length === 0) return 'empty store path';
    slots.add(s.slot);
  }
  return undefined;
}

export function encodeStoreIdentity(identity: StoreIdentity): string {
  return sealJson({ format: STORE_IDENTITY_FORMAT, ...identity });
}

export function decodeStoreIdentity(text: string): { ok: true; identity: StoreIdentity } | { ok: false; reason: string } {
  const unsealed = unsealJson(text);
  if (!unsealed.ok) return unsealed;
  const body = unsealed.body;
  if (!isRecord(body) || body.format !== STORE_IDENTITY_FORMAT) return { ok: false, reason: 'not a rain store identity' };
  const identity = { poolId: String(body.poolId), storeId: String(body.storeId), slot: Number(body.slot) };
  if (!isId(identity.poolId) || !isId(identity.storeId) || !Number.isInteger(identity.slot)) {
    return { ok: false, reason: 'malformed store identity' };
  }
  return { ok: true, identity };
}
