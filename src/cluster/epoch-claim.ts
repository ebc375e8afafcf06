import { newId } from '../format/ids.js';
import { ioError } from '../rain-error.js';
import { claimSilenceMs, createClaim, highestClaim, readClaim, writeHeartbeat, type EpochClaim } from '../store/epoch-files.js';
import { hostName } from '../store/writer-intents.js';
import type { StoreAccess } from './protocol.js';
import { HEARTBEAT_INTERVAL_MS, staleAfterMs } from './timing.js';

export type ClaimOutcome =
  | { readonly won: true; readonly epoch: number; readonly claimantId: string; readonly claimedSlots: readonly number[]; stopHeartbeat(): void }
  | { readonly won: false; readonly epoch: number; readonly holder?: EpochClaim };

/**
 * Claims epoch e = (highest committed or claimed epoch seen) + 1 without any lock file:
 *  1. exclusive create of epochs/<e>.claim on every writable store, in ascending slot order;
 *  2. the claim wins only if it was created on every writable store and those are at least the
 *     quorum (n - m). The first EEXIST means another coordinator got there first: stop at once.
 *  A claim above the committed epoch whose claimant is alive is never overtaken.
 * Two coordinators that see the same stores both start at the lowest slot, so exactly one gets
 * past it and the other touches nothing else. See docs/PROTOCOL.md, "Claiming an epoch".
 */
export async function claimEpoch(
  stores: readonly StoreAccess[], committedEpoch: number, quorum: number, purpose: string, membership: readonly number[],
): Promise<ClaimOutcome> {
  const writable = stores.filter((s) => s.writable).sort((a, b) => a.slot - b.slot);
  if (writable.length < quorum) {
    throw ioError(`initialization needs ${quorum} writable stores (n - m) to claim an epoch, only ${writable.length} are; bring stores back or use rebuild --replace`);
  }
  let highest = committedEpoch;
  let holderPath = '';
  for (const store of writable) {
    const claimed = await highestClaim(store.path);
    if (claimed > highest) {
      highest = claimed;
      holderPath = store.path;
    }
  }
  // A newer claim whose claimant still beats is a check in progress: never start another beside
  // it (both would run, and one would find itself superseded at commit). Only an abandoned claim
  // is overtaken with a higher epoch.
  if (highest > committedEpoch) {
    const silence = await claimSilenceMs(holderPath, highest);
    if (silence !== undefined && silence <= staleAfterMs()) return { won: false, epoch: highest, holder: await readClaim(holderPath, highest) };
  }
  const epoch = highest + 1;
  const claim: EpochClaim = {
    epoch, claimantId: newId(), pid: process.pid, host: hostName(), purpose, membership: [...membership], createdAt: new Date().toISOString(),
  };
  const claimedSlots: number[] = [];
  for (const store of writable) {
    if (!(await createClaim(store.path, claim))) {
      return { won: false, epoch, holder: await readClaim(store.path, epoch) };
    }
    claimedSlots.push(store.slot);
  }
  const beat = (): void => {
    for (const store of writable) void writeHeartbeat(store.path, epoch, claim.claimantId).catch(() => undefined);
  };
  beat();
  const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  timer.unref();
  return { won: true, epoch, claimantId: claim.claimantId, claimedSlots, stopHeartbeat: () => clearInterval(timer) };
}
