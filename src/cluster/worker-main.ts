import { readFileSync } from 'node:fs';
import os from 'node:os';
import { errnoCode, RainError } from '../rain-error.js';
import '../store/all-store-functions.js';
import { isRemoteStorePath } from '../store/store-location.js';
import { executeStoreCall, rebuildError, setStoreRouting, type StoreCall } from '../store/store-router.js';
import { WORKER_PROTOCOL_VERSION, type FromWorker, type StoreAccess, type ToWorker, type WorkerRequest } from './protocol.js';
import { openWorkerLink } from './worker-link.js';
import { WorkerContext } from './worker-context.js';
import { BlockListings, checkDataset } from './worker-tasks/check-dataset.js';
import { decodeDataset } from './worker-tasks/decode-dataset.js';
import { encodeDataset } from './worker-tasks/encode-dataset.js';
import { InitMode } from './worker-tasks/init-mode.js';
import { OutputTurns, SharedStdout } from './worker-tasks/output-turns.js';
import { collectOlderBlocks, removeFileBlocks } from '../store/block-housekeeping.js';
import { scanStore } from '../store/store-scan.js';

/**
 * A store's worker process (M1, M11): started by the coordinator with fork(), one per store. It
 * does that store's scans and housekeeping, and the reading, coding and writing of the data sets
 * it is responsible for. It exits when the coordinator's channel closes, so a killed `rain`
 * never leaves workers behind.
 *
 * Forked by a local coordinator it talks over IPC; started on another host by `rain remote-worker`
 * over ssh it talks in frames over stdin/stdout and reaches only its own store directly: every
 * other store's operations are relayed through the coordinator.
 */
const link = openWorkerLink();
const ownStorePath = argumentValue('--store');
const relayed = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
let nextRelayId = 1;

/**
 * A remote worker must never take another host's path for one of its own: /data/d1 on the
 * coordinator's host and /data/d1 here are different directories. So it sees every other store
 * under RELAY_PREFIX and reaches it only through the coordinator.
 */
const RELAY_PREFIX = 'relay:';

setStoreRouting({
  isDirect: link.remote
    ? (storePath) => ownStorePath !== undefined && storePath === ownStorePath
    : (storePath) => !isRemoteStorePath(storePath),
  forward: (storeCall: StoreCall) => new Promise((resolve, reject) => {
    const relayId = nextRelayId++;
    relayed.set(relayId, { resolve, reject });
    const storePath = storeCall.storePath.startsWith(RELAY_PREFIX) ? storeCall.storePath.slice(RELAY_PREFIX.length) : storeCall.storePath;
    link.send({ relayId, storeCall: { ...storeCall, storePath } });
  }),
});

function rainVersion(): string {
  try {
    return String((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }).version);
  } catch {
    return 'unknown';
  }
}

function argumentValue(flag: string): string | undefined {
  const at = process.argv.indexOf(flag);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

/** A remote worker names its own store by its path on this host; the coordinator knows it by URL. */
function localView(stores: readonly StoreAccess[], slot: number): StoreAccess[] {
  if (!link.remote || ownStorePath === undefined) return [...stores];
  return stores.map((s) => (s.slot === slot ? { ...s, path: ownStorePath } : { ...s, path: `${RELAY_PREFIX}${s.path}` }));
}
let context: WorkerContext | undefined;
const listings = new BlockListings();
const initMode = new InitMode();
const stdout = { turns: new OutputTurns(), shared: new SharedStdout() };

/** Regular run-time work is suspended while the worker is in initialization mode (M4). */
function requireActive(): WorkerContext {
  if (initMode.active) throw new Error(`the worker of store ${requireContext().slot} is in initialization mode (epoch ${initMode.epoch}); regular work is suspended`);
  return requireContext();
}

function requireContext(): WorkerContext {
  if (!context) throw new Error('worker used before open');
  return context;
}

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.op) {
    case 'open':
      context = new WorkerContext(request.slot, request.poolId, localView(request.stores, request.slot));
      initMode.leave();
      listings.forget();
      process.title = request.slot >= 0 ? `rain-worker slot=${request.slot} ${context.store(request.slot).path}` : 'rain-worker coder';
      return { pid: process.pid };
    case 'encode':
      return encodeDataset(requireActive(), request.ref, request.sourcePath);
    case 'decode':
      if (link.remote) throw new Error('a remote worker cannot write the coordinator\'s files or output');
      return decodeDataset(requireActive(), request.ref, request.sink, stdout);
    case 'check':
      return checkDataset(requireContext(), request.ref, { repair: request.repair, collectOlder: request.repair }, listings);
    case 'flush': {
      const ctx = requireContext();
      await ctx.directorySync.flush();
      ctx.closeDescriptors();
      listings.forget();
      return { flushed: true };
    }
    case 'scan':
      return scanStore(requireContext().store(requireContext().slot).path, { detailed: request.detailed === true, repairLayout: request.repairLayout === true });
    case 'init-enter':
      return initMode.enter(requireContext(), request.epoch, request.membership);
    case 'init-register':
      return initMode.register(requireContext(), request.plan);
    case 'init-check':
      return initMode.check(requireContext());
    case 'init-takeover':
      return initMode.takeover(requireContext(), request.deadSlot, request.membership);
    case 'init-confirm':
      await initMode.confirm(requireContext(), request.summary);
      return { confirmed: true };
    case 'init-leave':
      initMode.leave();
      return { left: true };
    case 'collect-older':
      return collectOlderBlocks(requireContext().store(requireContext().slot).path, request.fileId, request.sequence, request.datasetSequences);
    case 'remove-blocks':
      return removeFileBlocks(requireContext().store(requireContext().slot).path, request.fileId, request.sequence, request.which);
  }
}

function answer(id: number, work: Promise<unknown>): void {
  work.then(
    (result) => link.send({ id, ok: true, result }),
    (error: unknown) => link.send({
      id,
      ok: false,
      error: error instanceof Error ? error.message : String(error),
      code: error instanceof RainError ? String(error.exitCode) : errnoCode(error),
    }),
  );
}

link.onMessage((message: ToWorker) => {
  if ('outputTurn' in message) {
    const turn = message.outputTurn;
    stdout.turns.grant(turn.stream, turn.next, turn.abandoned);
    return;
  }
  if ('relayId' in message) {
    const waiter = relayed.get(message.relayId);
    relayed.delete(message.relayId);
    if (!waiter) return;
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(rebuildError(message.error));
    return;
  }
  if ('storeCall' in message) {
    answer(message.id, executeStoreCall(message.storeCall));
    return;
  }
  answer(message.id, handle(message.request));
});

link.onClose(() => process.exit(0));

if (link.remote) {
  const hello: FromWorker = { hello: { protocol: WORKER_PROTOCOL_VERSION, rainVersion: rainVersion(), node: process.version, pid: process.pid, host: os.hostname() } };
  link.send(hello);
}
