import { MAX_EPOCH } from '../../format/epoch-number.js';
import { newId } from '../../format/ids.js';
import { describeStoreError, ioError } from '../../rain-error.js';
import type { EpochClaim } from '../../store/epoch-files.js';
import type { Store } from '../../store/store.js';
import { hostName } from '../../store/writer-intents.js';
import { HEARTBEAT_INTERVAL_MS, staleAfterMs } from '../timing.js';
import { appendAll } from '../../format/append-all.js';

/** A store of the pool as the claim sees it. */
export interface ClaimableStore {
  readonly slot: number;
  readonly store: Store;
  readonly writable: boolean;
}

/** A store that could not take part in the claim, and why (its claim file could not be written or read). */
export interface ClaimFault {
  readonly slot: number;
  readonly reason: string;
}

export type ClaimOutcome =
  | {
    readonly won: true; readonly epoch: number; readonly claimantId: string; readonly claimedSlots: readonly number[];
    readonly faults: readonly ClaimFault[]; readonly junk: readonly string[]; stopHeartbeat(): void;
  }
  | { readonly won: false; readonly epoch: number; readonly holder?: EpochClaim };

/**
 * Claims epoch e = (highest committed or validly claimed epoch seen) + 1 without any lock file:
 *  1. exclusive create of epochs/<e>.claim on every writable store, in ascending slot order;
 *  2. the claim wins only if no store answered "already exists" and the stores that took it are
 *     at least the quorum (n - m). The first EEXIST means another coordinator got there first:
 *     stop at once. A store that fails otherwise (full, read-only, epochs/ not a directory) is one
 *     failed store: it is left out, named in `faults`, and the claim goes on with the others.
 *  A claim above the committed epoch whose claimant is alive is never overtaken. Junk in epochs/
 *  (names that are no epoch, claims that do not decode) is reported and never adopted.
 * Two coordinators that see the same stores both start at the lowest slot, so exactly one gets
 * past it and the other touches nothing else. See docs/PROTOCOL.md, "Claiming an epoch".
 */
export async function claimEpoch(
  stores: readonly ClaimableStore[], committedEpoch: number, quorum: number, purpose: string, membership: readonly number[],
): Promise<ClaimOutcome> {
  const writable = stores.filter((s) => s.writable).sort((a, b) => a.slot - b.slot);
  const faults: ClaimFault[] = [];
  const junk: string[] = [];
  let highest = committedEpoch;
  let holder: Store | undefined;
  const usable: ClaimableStore[] = [];
  for (const store of writable) {
    try {
      const claims = await store.store.highestClaim();
      appendAll(junk, claims.junk.map((name) => `store ${store.slot}: epochs/${name}`));
      if (claims.highest > highest) {
        highest = claims.highest;
        holder = store.store;
      }
      usable.push(store);
    } catch (error) {
      faults.push({ slot: store.slot, reason: `its epochs/ cannot be read: ${describeStoreError(error)}` });
    }
  }
  requireQuorum(usable.length, quorum, faults);
  // A newer claim whose claimant still beats is a check in progress: never start another beside
  // it (both would run, and one would find itself superseded at commit). Only an abandoned claim
  // is overtaken with a higher epoch.
  if (highest > committedEpoch && holder) {
    const silence = await holder.claimSilenceMs(highest).catch(() => undefined);
    if (silence !== undefined && silence <= staleAfterMs()) return { won: false, epoch: highest, holder: await holder.readClaim(highest).catch(() => undefined) };
  }
  if (highest >= MAX_EPOCH) throw ioError(`the pool's epoch has reached its limit (${MAX_EPOCH}); this cannot happen in normal use`);
  const epoch = highest + 1;
  const claim: EpochClaim = {
    epoch, claimantId: newId(), pid: process.pid, host: hostName(), purpose, membership: [...membership], createdAt: new Date().toISOString(),
  };
  const claimed: ClaimableStore[] = [];
  for (const store of usable) {
    let created: boolean;
    try {
      created = await store.store.createClaim(claim);
    } catch (error) {
      faults.push({ slot: store.slot, reason: `cannot write its epoch claim: ${describeStoreError(error)}` });
      continue;
    }
    if (!created) return { won: false, epoch, holder: await store.store.readClaim(epoch).catch(() => undefined) };
    claimed.push(store);
  }
  if (claimed.length < quorum) {
    // Nothing ran at this epoch: take the claims back, so no later command waits for a claimant
    // that already gave up (a fresh claim without a heartbeat looks alive for a while).
    await Promise.all(claimed.map((store) => store.store.withdrawClaim(epoch, claim.claimantId).catch(() => undefined)));
    requireQuorum(claimed.length, quorum, faults);
  }
  const beat = (): void => {
    for (const store of claimed) void store.store.writeHeartbeat(epoch, claim.claimantId).catch(() => undefined);
  };
  beat();
  const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  timer.unref();
  return {
    won: true, epoch, claimantId: claim.claimantId, claimedSlots: claimed.map((s) => s.slot), faults, junk,
    stopHeartbeat: () => clearInterval(timer),
  };
}

function requireQuorum(count: number, quorum: number, faults: readonly ClaimFault[]): void {
  if (count >= quorum) return;
  const why = faults.length > 0 ? ` (${faults.map((f) => `store ${f.slot}: ${f.reason}`).join('; ')})` : '';
  throw ioError(`initialization needs ${quorum} writable stores (n - m) to claim an epoch, only ${count} are${why}; bring stores back or use rebuild --replace`);
}
