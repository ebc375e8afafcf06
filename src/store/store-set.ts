import { ioError } from '../rain-error.js';
import { LocalStore } from './local-store.js';
import { RemoteStore, type StoreTransport } from './remote-store.js';
import { isRemoteStorePath } from './store-location.js';
import type { Store } from './store.js';

/**
 * How this process reaches the stores the pool's manifest names: which locations are directories
 * it opens itself (a LocalStore each), and the transport to every other one (a RemoteStore each).
 * Set once when a process starts: the coordinator reaches local paths and sends the rest over
 * ssh; a local worker does the same through its coordinator; a worker on another host reaches
 * only its own store and everything else through the coordinator (so `/data/d1` here and
 * `/data/d1` on the coordinator's host are never taken for the same directory).
 * A new kind of store is one class implementing Store, chosen here by its location.
 */
export interface StoreRouting {
  /** The directory this process opens for `location`, or undefined: it is reached through `transport`. */
  localPath(location: string): string | undefined;
  readonly transport?: StoreTransport;
}

const UNREACHABLE: StoreTransport = {
  call: (location) => Promise.reject(ioError(`store ${location} is not reachable from this process`)),
};

export class StoreSet {
  private readonly opened = new Map<string, Store>();

  constructor(private readonly routing: StoreRouting) {}

  /** The one Store object of this process for `location` (a LocalStore keeps its fsync batch, so there is one per location). */
  get(location: string): Store {
    let store = this.opened.get(location);
    if (!store) {
      const local = this.routing.localPath(location);
      store = local !== undefined ? new LocalStore(location, local) : new RemoteStore(location, this.routing.transport ?? UNREACHABLE);
      this.opened.set(location, store);
    }
    return store;
  }

  /** Every Store this process opened (to flush them all). */
  all(): Store[] {
    return [...this.opened.values()];
  }
}

/** Local paths are opened directly; ssh:// stores are unreachable until a transport is set. */
let processStores = new StoreSet({ localPath: (location) => (isRemoteStorePath(location) ? undefined : location) });

/** The Store object for a location, as this process reaches it. */
export function storeAt(location: string): Store {
  return processStores.get(location);
}

/** Every store this process has opened. */
export function openedStores(): Store[] {
  return processStores.all();
}

/** Sets how this process reaches stores (once, at start-up: cli/main.ts, cluster/worker-main.ts). */
export function useStoreRouting(routing: StoreRouting): void {
  processStores = new StoreSet(routing);
}
