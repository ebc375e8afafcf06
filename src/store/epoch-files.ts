import path from 'node:path';
import { MAX_EPOCH, parseEpoch } from '../format/epoch-number.js';
import { isRecord, sealJson, unsealJson } from '../format/sealed-json.js';
import { errnoCode } from '../rain-error.js';
import { publishExclusively, replaceSmallFile, writeSmallFileDurably } from './durable-file.js';
import { readdirOrEmpty, readSmallFile, removeFileInStore, verifyDirectory } from './guarded-fs.js';

/**
 * The agreement's footprint on a store (docs/PROTOCOL.md):
 *   epochs/<e>.claim           exclusive claim of epoch e by one coordinator (never overwritten)
 *   epochs/<e>.alive           the claimant's heartbeat, rewritten while it runs
 *   epochs/<e>.<phase>.<slot>  a worker's record of entering init mode / registering / confirming
 * An epoch is committed when rain-pool.json on the stores carries it; a claim newer than the
 * committed epoch means initialization mode is running (fresh heartbeat) or was interrupted.
 *
 * Nothing here is trusted by its name alone: an epoch is a decimal integer 1..MAX_EPOCH
 * (format/epoch-number.ts), and a claim counts only if its file decodes as a sealed claim of the
 * epoch its name says. Anything else in epochs/ is junk: reported, ignored, never adopted.
 */
export const EPOCHS_DIR = 'epochs';
const CLAIM_FORMAT = 'rain-claim/1';
/** Claims, heartbeats and worker records are a few hundred bytes; anything larger is not one. */
const MAX_EPOCH_FILE_BYTES = 1024 * 1024;

export interface EpochClaim {
  readonly epoch: number;
  readonly claimantId: string;
  readonly pid: number;
  readonly host: string;
  readonly purpose: string;
  readonly membership: readonly number[];
  readonly createdAt: string;
}

export function claimPath(storePath: string, epoch: number): string {
  return path.join(storePath, EPOCHS_DIR, `${epoch}.claim`);
}

/** The epoch and the rest of an epochs/ file name, or undefined when the name is not rain's. */
export function parseEpochFileName(name: string): { epoch: number; rest: string } | undefined {
  const match = /^(\d+)\.(claim|alive|(?:enter|register|confirm)\.\d{1,3})$/.exec(name);
  if (!match) return undefined;
  const epoch = parseEpoch(match[1]);
  return epoch === undefined ? undefined : { epoch, rest: match[2] };
}

/** Exclusive: resolves true if this call created the claim, false if one already existed. */
export async function createClaim(storePath: string, claim: EpochClaim): Promise<boolean> {
  if (!Number.isSafeInteger(claim.epoch) || claim.epoch < 1 || claim.epoch > MAX_EPOCH) throw new Error(`refusing to claim epoch ${claim.epoch}`);
  try {
    await publishExclusively(storePath, claimPath(storePath, claim.epoch), sealJson({ format: CLAIM_FORMAT, ...claim }));
    return true;
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw error;
  }
}

function decodeClaim(text: string, epoch: number): EpochClaim | undefined {
  const unsealed = unsealJson(text);
  if (!unsealed.ok || !isRecord(unsealed.body)) return undefined;
  const b = unsealed.body;
  if (b.format !== CLAIM_FORMAT || b.epoch !== epoch) return undefined;
  return {
    epoch, claimantId: String(b.claimantId), pid: Number(b.pid), host: String(b.host),
    purpose: String(b.purpose), membership: Array.isArray(b.membership) ? b.membership.map(Number) : [],
    createdAt: String(b.createdAt),
  };
}

function readClaimFile(storePath: string, epoch: number): EpochClaim | undefined {
  try {
    const bytes = readSmallFile(storePath, claimPath(storePath, epoch), MAX_EPOCH_FILE_BYTES);
    return bytes === undefined ? undefined : decodeClaim(bytes.toString('utf8'), epoch);
  } catch {
    return undefined;
  }
}

export async function readClaim(storePath: string, epoch: number): Promise<EpochClaim | undefined> {
  return readClaimFile(storePath, epoch);
}

export interface ClaimsOnStore {
  /** The highest epoch with a valid claim on this store (0 when none). */
  readonly highest: number;
  /** epochs/ entries that are not rain's (a name that is no epoch file, a claim that does not decode). */
  readonly junk: readonly string[];
}

/** The highest validly claimed epoch on this store, and the junk found on the way. */
export async function highestClaim(storePath: string): Promise<ClaimsOnStore> {
  const junk: string[] = [];
  const claimed: number[] = [];
  for (const name of readdirOrEmpty(path.join(storePath, EPOCHS_DIR))) {
    const parsed = parseEpochFileName(name);
    if (!parsed) {
      if (!name.startsWith('.')) junk.push(name);
      continue;
    }
    if (parsed.rest === 'claim') claimed.push(parsed.epoch);
  }
  claimed.sort((a, b) => b - a);
  for (const epoch of claimed) {
    if (readClaimFile(storePath, epoch)) return { highest: epoch, junk };
    junk.push(`${epoch}.claim`);
  }
  return { highest: 0, junk };
}

/** Removes this claimant's own claim of an epoch at which nothing ran (it did not reach the quorum). */
export async function withdrawClaim(storePath: string, epoch: number, claimantId: string): Promise<void> {
  if (readClaimFile(storePath, epoch)?.claimantId === claimantId) removeFileInStore(storePath, claimPath(storePath, epoch));
}

/** Heartbeats are plain timestamps written with rename; their age tells a live check from an abandoned one. */
export async function writeHeartbeat(storePath: string, epoch: number, claimantId: string): Promise<void> {
  replaceSmallFile(storePath, path.join(storePath, EPOCHS_DIR, `${epoch}.alive`), JSON.stringify({ claimantId, at: Date.now() }));
}

export async function heartbeatAgeMs(storePath: string, epoch: number): Promise<number | undefined> {
  try {
    const bytes = readSmallFile(storePath, path.join(storePath, EPOCHS_DIR, `${epoch}.alive`), MAX_EPOCH_FILE_BYTES);
    if (bytes === undefined) return undefined;
    const parsed = JSON.parse(bytes.toString('utf8')) as { at?: unknown };
    return typeof parsed.at === 'number' && Number.isFinite(parsed.at) ? Date.now() - parsed.at : undefined;
  } catch {
    return undefined;
  }
}

/** How long since the claimant of epoch e last showed life: its heartbeat, or the claim itself. */
export async function claimSilenceMs(storePath: string, epoch: number): Promise<number | undefined> {
  const beat = await heartbeatAgeMs(storePath, epoch);
  if (beat !== undefined) return beat;
  const claim = readClaimFile(storePath, epoch);
  const createdAt = claim ? Date.parse(claim.createdAt) : Number.NaN;
  return Number.isFinite(createdAt) ? Date.now() - createdAt : undefined;
}

export type WorkerPhase = 'enter' | 'register' | 'confirm';

/** A worker's durable statement about epoch e (on its own store): that it entered, registered, confirmed. */
export async function writeWorkerRecord(storePath: string, epoch: number, phase: WorkerPhase, slot: number, body: object): Promise<void> {
  await writeSmallFileDurably(storePath, path.join(storePath, EPOCHS_DIR, `${epoch}.${phase}.${slot}`), sealJson({ epoch, phase, slot, ...body }));
}

export async function readWorkerRecord(storePath: string, epoch: number, phase: WorkerPhase, slot: number): Promise<Record<string, unknown> | undefined> {
  try {
    const bytes = readSmallFile(storePath, path.join(storePath, EPOCHS_DIR, `${epoch}.${phase}.${slot}`), MAX_EPOCH_FILE_BYTES);
    if (bytes === undefined) return undefined;
    const unsealed = unsealJson(bytes.toString('utf8'));
    return unsealed.ok && isRecord(unsealed.body) && unsealed.body.epoch === epoch ? unsealed.body : undefined;
  } catch {
    return undefined;
  }
}

/** Drops agreement files of epochs older than `keepFrom` (history beyond the last few is noise). */
export async function pruneEpochFiles(storePath: string, keepFrom: number): Promise<void> {
  const dir = path.join(storePath, EPOCHS_DIR);
  if (!verifyDirectory(storePath, dir)) return;
  for (const name of readdirOrEmpty(dir)) {
    const parsed = parseEpochFileName(name);
    if (parsed && parsed.epoch < keepFrom) removeFileInStore(storePath, path.join(dir, name));
  }
}

