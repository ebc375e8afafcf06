import { waitForActiveMs } from '../cluster/timing.js';
import { ioError } from '../rain-error.js';
import { checkPool, pendingInitialization } from './check-pool.js';
import { notice } from './notices.js';
import { openPool, type OpenPool } from './open-pool.js';

export interface GateOptions {
  /** Run the check first when the last one was interrupted or a store returned with an old epoch. */
  readonly finishInterrupted: boolean;
}

/**
 * Regular work (put, get, rm, verify) runs only on an ACTIVE pool: while a check holds a live
 * claim (initialization mode), this waits for it; a check that died is finished first, and a
 * store that comes back from an older epoch is checked before it is trusted (docs/PROTOCOL.md).
 */
export async function openActivePool(poolArgument: string | undefined, options: GateOptions): Promise<OpenPool> {
  const deadline = Date.now() + waitForActiveMs();
  let announced = false;
  for (;;) {
    const pool = await openPool(poolArgument);
    const pending = await pendingInitialization(pool);
    if (pending?.alive) {
      if (!announced) notice(`a pool check (epoch ${pending.epoch}) is in initialization mode; waiting for it to finish`);
      announced = true;
      if (Date.now() > deadline) {
        throw ioError(`the pool has been in initialization mode (epoch ${pending.epoch}) for over ${Math.round(waitForActiveMs() / 1000)} s; try again later`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
      continue;
    }
    const staleStores = pool.stores.filter((s) => s.condition === 'online' && s.manifestEpoch !== undefined && s.manifestEpoch < pool.manifest.epoch);
    if (!options.finishInterrupted || (!pending && staleStores.length === 0)) return pool;
    // Two or more dead claims above the committed epoch: a check died, and so did the one started
    // to finish it (a check that cannot complete, e.g. out of memory, would otherwise take every
    // later put and get down with it, and the pool would take no writes until someone cleared it).
    if (pending && pending.epoch - pool.manifest.epoch >= 2) {
      notice(`the pool checks of epochs ${pool.manifest.epoch + 1} to ${pending.epoch} were all interrupted; going on without finishing them: run 'rain check' and look at why it stops`);
      return pool;
    }
    notice(pending
      ? `the last pool check (epoch ${pending.epoch}) was interrupted; finishing it first`
      : `store ${staleStores.map((s) => s.slot).join(', ')} came back from an older epoch; checking the pool before trusting it`);
    try {
      await checkPool({ openedPool: pool, pool: poolArgument });
    } catch (error) {
      notice(`the check could not run (${error instanceof Error ? error.message : String(error)}); going on without it`);
      return openPool(poolArgument);
    }
    return openPool(poolArgument);
  }
}
