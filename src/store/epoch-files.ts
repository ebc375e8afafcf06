import fs from 'node:fs/promises';
import path from 'node:path';
import { isRecord, sealJson, unsealJson } from '../format/sealed-json.js';
import { errnoCode } from '../rain-error.js';
import { readdirOrEmpty } from './catalog-files.js';
import { publishExclusively, writeSmallFileDurably } from './durable-file.js';
import { remotable } from './store-router.js';

/**
 * The agreement's footprint on a store (docs/PROTOCOL.md):
 *   epochs/<e>.claim           exclusive claim of epoch e by one coordinator (never overwritten)
 *   epochs/<e>.alive           the claimant's heartbeat, rewritten while it runs
 *   epochs/<e>.<phase>.<slot>  a worker's record of entering init mode / registering / confirming
 * An epoch is committed when rain-pool.json on the stores carries it; a claim newer than the
 * committed epoch means initialization mode is running (fresh heartbeat) or was interrupted.
 */
export const EPOCHS_DIR = 'epochs';

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

/** Exclusive: resolves true if this call created the claim, false if one already existed. */
async function createClaimHere(storePath: string, claim: EpochClaim): Promise<boolean> {
  try {
    await publishExclusively(storePath, claimPath(storePath, claim.epoch), sealJson({ format: 'rain-claim/1', ...claim }));
    return true;
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw error;
  }
}

async function readClaimHere(storePath: string, epoch: number): Promise<EpochClaim | undefined> {
  try {
    const unsealed = unsealJson(await fs.readFile(claimPath(storePath, epoch), 'utf8'));
    if (!unsealed.ok || !isRecord(unsealed.body)) return undefined;
    const b = unsealed.body;
    return {
      epoch: Number(b.epoch), claimantId: String(b.claimantId), pid: Number(b.pid), host: String(b.host),
      purpose: String(b.purpose), membership: Array.isArray(b.membership) ? b.membership.map(Number) : [],
      createdAt: String(b.createdAt),
    };
  } catch {
    return undefined;
  }
}

/** The highest claimed epoch on this store (0 when none). */
async function highestClaimHere(storePath: string): Promise<number> {
  let highest = 0;
  for (const name of await readdirOrEmpty(path.join(storePath, EPOCHS_DIR))) {
    const match = /^(\d+)\.claim$/.exec(name);
    if (match) highest = Math.max(highest, Number(match[1]));
  }
  return highest;
}

/** Heartbeats are plain timestamps written with rename; their age tells a live check from an abandoned one. */
async function writeHeartbeatHere(storePath: string, epoch: number, claimantId: string): Promise<void> {
  const file = path.join(storePath, EPOCHS_DIR, `${epoch}.alive`);
  const temp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temp, JSON.stringify({ claimantId, at: Date.now() }));
  await fs.rename(temp, file);
}

async function heartbeatAgeMsHere(storePath: string, epoch: number): Promise<number | undefined> {
  try {
    const parsed = JSON.parse(await fs.readFile(path.join(storePath, EPOCHS_DIR, `${epoch}.alive`), 'utf8')) as { at?: number };
    return typeof parsed.at === 'number' ? Date.now() - parsed.at : undefined;
  } catch {
    return undefined;
  }
}

/** How long since the claimant of epoch e last showed life: its heartbeat, or the claim itself. */
async function claimSilenceMsHere(storePath: string, epoch: number): Promise<number | undefined> {
  const beat = await heartbeatAgeMs(storePath, epoch);
  if (beat !== undefined) return beat;
  const claim = await readClaim(storePath, epoch);
  return claim ? Date.now() - Date.parse(claim.createdAt) : undefined;
}

export type WorkerPhase = 'enter' | 'register' | 'confirm';

/** A worker's durable statement about epoch e (on its own store): that it entered, registered, confirmed. */
async function writeWorkerRecordHere(storePath: string, epoch: number, phase: WorkerPhase, slot: number, body: object): Promise<void> {
  await writeSmallFileDurably(storePath, path.join(storePath, EPOCHS_DIR, `${epoch}.${phase}.${slot}`), sealJson({ epoch, phase, slot, ...body }));
}

async function readWorkerRecordHere(storePath: string, epoch: number, phase: WorkerPhase, slot: number): Promise<Record<string, unknown> | undefined> {
  try {
    const unsealed = unsealJson(await fs.readFile(path.join(storePath, EPOCHS_DIR, `${epoch}.${phase}.${slot}`), 'utf8'));
    return unsealed.ok && isRecord(unsealed.body) ? unsealed.body : undefined;
  } catch {
    return undefined;
  }
}

/** Drops agreement files of epochs older than `keepFrom` (history beyond the last few is noise). */
async function pruneEpochFilesHere(storePath: string, keepFrom: number): Promise<void> {
  for (const name of await readdirOrEmpty(path.join(storePath, EPOCHS_DIR))) {
    const match = /^(\d+)\./.exec(name);
    if (match && Number(match[1]) < keepFrom) await fs.rm(path.join(storePath, EPOCHS_DIR, name), { force: true });
  }
}

// Reachable from any process and host (store-router.ts); the implementations above run where the store is.
export const createClaim = remotable('createClaim', createClaimHere);
export const readClaim = remotable('readClaim', readClaimHere);
export const highestClaim = remotable('highestClaim', highestClaimHere);
export const writeHeartbeat = remotable('writeHeartbeat', writeHeartbeatHere);
export const heartbeatAgeMs = remotable('heartbeatAgeMs', heartbeatAgeMsHere);
export const claimSilenceMs = remotable('claimSilenceMs', claimSilenceMsHere);
export const writeWorkerRecord = remotable('writeWorkerRecord', writeWorkerRecordHere);
export const readWorkerRecord = remotable('readWorkerRecord', readWorkerRecordHere);
export const pruneEpochFiles = remotable('pruneEpochFiles', pruneEpochFilesHere);
