import { ioError, usageError } from '../rain-error.js';
import { isRemoteStorePath, parseStoreLocation, type StoreLocation } from '../store/store-location.js';
import { useStoreRouting } from '../store/store-set.js';
import { SshChannel } from './worker-channel.js';
import { WorkerHandle } from './worker-handle.js';

type SshLocation = Extract<StoreLocation, { kind: 'ssh' }>;

/** How long a remote worker gets to finish and exit when the command ends. */
const CLOSE_GRACE_MS = 5000;

/**
 * The coordinator's connections to stores on other hosts: one ssh session and one remote worker
 * per store for the whole command. It serves the coordinator's own store calls (manifest,
 * catalog, epochs) before any cluster exists, and is then that store's worker in the cluster.
 * A connection that failed stays failed for the rest of the command, so an unreachable host
 * costs one connection attempt, not one per call.
 */
const connections = new Map<string, { location: SshLocation; handle: WorkerHandle }>();

export function sshLocation(storePath: string): SshLocation {
  const location = parseStoreLocation(storePath);
  if ('error' in location) throw usageError(location.error);
  if (location.kind !== 'ssh') throw new Error(`${storePath} is not an ssh store`);
  return location;
}

export function remoteWorker(storePath: string): WorkerHandle {
  let connection = connections.get(storePath);
  if (!connection) {
    const location = sshLocation(storePath);
    connection = { location, handle: new WorkerHandle(-1, new SshChannel(location)) };
    connections.set(storePath, connection);
  }
  return connection.handle;
}

/**
 * The coordinator's routing: local paths are opened here; an ssh:// store's calls go to the worker
 * on its host (one per store, started on first use), which runs them on its own store.
 */
export function installCoordinatorRouting(): void {
  useStoreRouting({
    localPath: (location) => (isRemoteStorePath(location) ? undefined : location),
    transport: {
      call: (location, method, args) => {
        const worker = remoteWorker(location);
        if (!worker.alive) return Promise.reject(Object.assign(ioError(`${location}: ${worker.failure}`), { code: 'ERAINREMOTE' }));
        return worker.storeCall({ location, method, args });
      },
    },
  });
}

/** Ends every remote session (each remote worker exits when its channel closes). */
export async function closeRemoteStores(): Promise<void> {
  const all = [...connections.values()];
  connections.clear();
  // A remote worker stuck in a hung disk would keep its ssh client, and so this command, alive.
  await Promise.all(all.map(async ({ handle }) => {
    const closed = await Promise.race([
      handle.close().then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), CLOSE_GRACE_MS).unref()),
    ]);
    if (!closed) handle.kill();
  }));
}
