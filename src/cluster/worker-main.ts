import fs, { readFileSync } from 'node:fs';
import os from 'node:os';
import { BlockListings, checkDataset } from '../dataset/check.js';
import { decodeDataset } from '../dataset/decode.js';
import { encodeDataset } from '../dataset/encode.js';
import { crc32Of } from '../format/checksum.js';
import { dataLostError, fromWire, toWire } from '../rain-error.js';
import { removeOwnTempFiles } from '../store/durable-file.js';
import { readFullyAt, writeFullyAt } from '../store/inline-io.js';
import { LocalStore } from '../store/local-store.js';
import { isRemoteStorePath } from '../store/store-location.js';
import { storeAt, useStoreRouting } from '../store/store-set.js';
import { callStore, isStoreMethod, type Store } from '../store/store.js';
import { InitMode } from './agreement/init-mode.js';
import { faultPoint } from './fault-points.js';
import { OutputTurns, SharedStdout } from './output-turns.js';
import { packSourceReader } from './pack-sources.js';
import { WORKER_PROTOCOL_VERSION, type DecodeSink, type DecodeSlice, type FromWorker, type StoreAccess, type StoreCall, type ToWorker, type WorkerRequest } from './protocol.js';
import { openWorkerLink } from './worker-link.js';
import { WorkerContext } from './worker-context.js';
import { fsPath } from '../format/wire-path.js';

/**
 * A store's worker process (M1, M11): started by the coordinator with fork(), one per store. It
 * does that store's scans and housekeeping, and the reading, coding and writing of the data sets
 * it is responsible for. It exits when the coordinator's channel closes, so a killed `rain`
 * never leaves workers behind.
 *
 * Forked by a local coordinator it talks over IPC and opens every local store itself; started on
 * another host by `rain remote-worker` over ssh it talks in frames over stdin/stdout, opens only
 * its own store, and reaches every other through the coordinator (store/store-set.ts): /data/d1
 * on the coordinator's host and /data/d1 here are different directories.
 */
const link = openWorkerLink();
const ownStorePath = argumentValue('--store');
/** A remote worker's own store: what the coordinator's calls to it run on. */
const ownStore = link.remote && ownStorePath !== undefined ? new LocalStore(ownStorePath) : undefined;
const relayed = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
let nextRelayId = 1;

useStoreRouting({
  localPath: (location) => (link.remote || isRemoteStorePath(location) ? undefined : location),
  transport: {
    call: (location, method, args) => new Promise((resolve, reject) => {
      const relayId = nextRelayId++;
      relayed.set(relayId, { resolve, reject });
      link.send({ relayId, storeCall: { location, method, args } });
    }),
  },
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

/** The Store object for a store of the pool: this host's own one, or as the process's routing reaches it. */
function storeFor(access: StoreAccess, ownSlot: number): Store {
  return ownStore && access.slot === ownSlot ? ownStore : storeAt(access.path);
}

let context: WorkerContext | undefined;
const listings = new BlockListings();
const initMode = new InitMode((counts) => link.send({ progress: counts }));
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

/** This worker's own store (its slot's). */
function own(): Store {
  const ctx = requireContext();
  return ctx.storeOf(ctx.slot).store;
}

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.op) {
    case 'open': {
      context = new WorkerContext(request.slot, request.poolId, request.stores, (access) => storeFor(access, request.slot));
      initMode.leave();
      listings.forget();
      process.title = request.slot >= 0 ? `rain-worker slot=${request.slot} ${context.storeOf(request.slot).store.location}` : 'rain-worker coder';
      return { pid: process.pid };
    }
    case 'encode': {
      const ctx = requireActive();
      if (request.packSources) {
        const memberChecksums: number[] = [];
        const changedMembers: number[] = [];
        const packed = await encodeDataset(ctx, request.ref, packSourceReader(request.packSources, memberChecksums, changedMembers));
        await faultPoint('worker-encoded', ctx.slot);
        return { ...packed, memberChecksums, changedMembers };
      }
      const source = ctx.descriptor(request.sourcePath, 'r');
      const result = await encodeDataset(ctx, request.ref, (into, length, position) => readFullyAt(source, into, 0, length, position), request.keepIfChecksum);
      await faultPoint('worker-encoded', ctx.slot);
      return result;
    }
    case 'decode': {
      if (link.remote) throw new Error('a remote worker cannot write the coordinator\'s files or output');
      const ctx = requireActive();
      const decoded = await decodeDataset(ctx, request.ref);
      await faultPoint('worker-decoded', ctx.slot);
      try {
        if (request.slices) await writeSlices(ctx, request.ref.name, decoded.bytes, request.slices);
        else await writeDecoded(ctx, request.sink, decoded.bytes, decoded.fileOffsetBytes, request.ref.datasetIndex);
      } finally {
        decoded.release();
      }
      return decoded.result;
    }
    case 'check':
      return checkDataset(requireContext(), request.ref, { repair: request.repair, collectOlder: request.repair }, listings);
    case 'flush': {
      const ctx = requireContext();
      const failures = await ctx.flush();
      ctx.closeDescriptors();
      listings.forget();
      return { failures };
    }
    case 'scan':
      return own().scan({ detailed: request.detailed === true, repairLayout: request.repairLayout === true });
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
      return own().collectOlderBlocks(request.fileId, request.sequence, request.datasetSequences);
    case 'remove-blocks':
      return own().removeFileBlocks(request.fileId, request.sequence, request.which);
  }
}

/**
 * The bytes go straight into the destination file at their offset, or onto the coordinator's
 * standard output (which this worker holds too) in their turn: never through the coordinator.
 */
async function writeDecoded(ctx: WorkerContext, sink: DecodeSink, bytes: Buffer, fileOffsetBytes: number, datasetIndex: number): Promise<void> {
  if (sink.kind === 'file') {
    await writeFullyAt(ctx.descriptor(sink.path, 'r+'), bytes, 0, bytes.length, fileOffsetBytes);
    return;
  }
  await stdout.turns.wait(sink.stream, datasetIndex);
  await stdout.shared.write(bytes);
}

/**
 * The packed files of one pack, each checked against its own checksum and written to its own
 * destination. A file is opened and closed here (a get -r writes thousands from one pack).
 */
async function writeSlices(ctx: WorkerContext, name: string, bytes: Buffer, slices: readonly DecodeSlice[]): Promise<void> {
  for (const slice of slices) {
    const part = bytes.subarray(slice.offsetBytes, slice.offsetBytes + slice.lengthBytes);
    if (part.length !== slice.lengthBytes || crc32Of(part) !== slice.checksum) {
      throw dataLostError(`${name}: a packed file's bytes disagree with its checksum in the catalog (offset ${slice.offsetBytes} of its pack)`);
    }
    if (slice.sink.kind === 'stdout') {
      await writeDecoded(ctx, slice.sink, part, 0, 0);
      continue;
    }
    const fd = fs.openSync(fsPath(slice.sink.path), 'r+');
    try {
      await writeFullyAt(fd, part, 0, part.length, 0);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** A call the coordinator sends to this worker's own store (a worker on the store's host). */
function serveStoreCall(call: StoreCall): Promise<unknown> {
  if (!ownStore) return Promise.reject(new Error('only a worker on a store\'s own host serves store calls'));
  if (!isStoreMethod(call.method)) return Promise.reject(new Error(`unknown store method ${String(call.method)} (rain versions differ between hosts?)`));
  return callStore(ownStore, call.method, call.args);
}

function answer(id: number, work: Promise<unknown>): void {
  work.then(
    (result) => link.send({ id, ok: true, result }),
    (error: unknown) => link.send({ id, ok: false, error: toWire(error) }),
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
    else waiter.reject(fromWire(message.error));
    return;
  }
  if ('storeCall' in message) {
    answer(message.id, serveStoreCall(message.storeCall));
    return;
  }
  answer(message.id, handle(message.request));
});

/**
 * The coordinator closes the channel when the command ends, is interrupted, or dies: whatever
 * this worker had under way will never be committed, so its temp files go (synchronously, so
 * nothing runs between that and the exit) and it ends. Blocks it renamed into place stay, as a
 * crash would leave them; the next check finishes or undoes their version.
 */
link.onClose(() => {
  removeOwnTempFiles();
  process.exit(0);
});

/**
 * Ctrl-C reaches every process of the terminal's process group, this worker included, and a
 * service manager's SIGTERM may reach it too. The coordinator decides how a command stops: it
 * gets the same signal and closes this worker's channel, so the worker carries on until then.
 * Were it to exit on its own, the coordinator could see a dead worker (and report a failed
 * store) before it saw its own signal. A signal meant for this worker alone still ends it, once
 * no coordinator has acted on it within WORKER_SIGNAL_GRACE_MS.
 */
const WORKER_SIGNAL_GRACE_MS = 3000;
/** The first signal arms the grace timer; later ones (a key held down, a storm of kills) add nothing. */
let signalTimerArmed = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (signalTimerArmed) return;
    signalTimerArmed = true;
    setTimeout(() => {
      removeOwnTempFiles();
      process.exit(128 + os.constants.signals[signal]); // the shell's convention for a signal's end
    }, WORKER_SIGNAL_GRACE_MS).unref();
  });
}

if (link.remote) {
  const hello: FromWorker = { hello: { protocol: WORKER_PROTOCOL_VERSION, rainVersion: rainVersion(), node: process.version, pid: process.pid, host: os.hostname() } };
  link.send(hello);
}
