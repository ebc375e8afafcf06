import { isId } from './ids.js';
import { isRecord, sealJson, unsealJson } from './sealed-json.js';

export const STORE_FAULT_FORMAT = 'rain-store-fault/1';

/**
 * A note that writes to one store failed (docs/FORMAT.md §9): written by the command that saw the
 * failure onto the pool's other stores (the failing one may be full or read-only), so `status`
 * can say so without reading any data, and removed by the next check that leaves the pool healthy.
 */
export interface StoreFaultNote {
  readonly poolId: string;
  /** The store the writes failed on (its slot and id, so a replaced store is not blamed). */
  readonly slot: number;
  readonly storeId: string;
  /** What failed, in words (e.g. "disk full (ENOSPC): ..."). */
  readonly reason: string;
  /** The errno code when one was given (ENOSPC, EROFS, EACCES, EIO, ...). */
  readonly errno?: string;
  /** The command that saw it (put, sync, rm, ...). */
  readonly command: string;
  /** When, in milliseconds since 1970 (UTC). */
  readonly atMs: number;
  /**
   * When the first command that failed there since the last healthy check started: files written
   * since then may lack blocks on this store (ls shows them degraded until a check).
   */
  readonly sinceMs: number;
}

/** The longest reason kept: one line, not a log. */
const MAX_REASON_CHARS = 400;

export function encodeStoreFault(note: StoreFaultNote): string {
  if (!isId(note.poolId) || !isId(note.storeId) || !Number.isInteger(note.slot) || note.slot < 0 || !Number.isFinite(note.atMs) || !(note.sinceMs <= note.atMs)) {
    throw new Error(`malformed store fault note for slot ${note.slot}`);
  }
  return sealJson({ format: STORE_FAULT_FORMAT, ...note, reason: note.reason.replace(/[\u0000-\u001f]/g, ' ').slice(0, MAX_REASON_CHARS) });
}

/** A note read from a store: nothing in it is trusted beyond what is checked here. */
export function decodeStoreFault(text: string): StoreFaultNote | undefined {
  const unsealed = unsealJson(text);
  if (!unsealed.ok) return undefined;
  const body = unsealed.body;
  if (!isRecord(body) || body.format !== STORE_FAULT_FORMAT) return undefined;
  const { poolId, slot, storeId, reason, errno, command, atMs, sinceMs } = body;
  if (typeof poolId !== 'string' || !isId(poolId) || typeof storeId !== 'string' || !isId(storeId)) return undefined;
  if (typeof slot !== 'number' || !Number.isInteger(slot) || slot < 0 || slot > 255) return undefined;
  if (typeof reason !== 'string' || typeof command !== 'string' || typeof atMs !== 'number' || !Number.isFinite(atMs)) return undefined;
  if (typeof sinceMs !== 'number' || !Number.isFinite(sinceMs) || sinceMs > atMs) return undefined;
  if (errno !== undefined && (typeof errno !== 'string' || !/^E[A-Z0-9]{1,15}$/.test(errno))) return undefined;
  return {
    poolId, slot, storeId, reason: reason.slice(0, MAX_REASON_CHARS), command: command.slice(0, 32), atMs, sinceMs,
    ...(errno === undefined ? {} : { errno }),
  };
}

/** The errno code named in a failure's words ("disk full (ENOSPC): ..."), if any. */
export function errnoNamedIn(reason: string): string | undefined {
  return /\b(E(?:NOSPC|DQUOT|ROFS|ACCES|PERM|IO|NOENT|NOTDIR|STALE|NXIO|HOSTDOWN|TIMEDOUT|FBIG|MFILE|NFILE))\b/.exec(reason)?.[1];
}

export function storeFaultFileName(slot: number): string {
  return `store-${slot}.json`;
}

export function parseStoreFaultFileName(fileName: string): number | undefined {
  const match = /^store-(\d{1,3})\.json$/.exec(fileName);
  return match ? Number(match[1]) : undefined;
}
