import { errnoCode, RainError } from '../rain-error.js';
import type { WorkerEnvelope, WorkerReply, WorkerRequest } from './protocol.js';
import { WorkerContext } from './worker-context.js';
import { BlockListings, checkDataset } from './worker-tasks/check-dataset.js';
import { decodeDataset } from './worker-tasks/decode-dataset.js';
import { encodeDataset } from './worker-tasks/encode-dataset.js';
import { InitMode } from './worker-tasks/init-mode.js';
import { collectOlderBlocks, removeFileBlocks, scanStore } from './worker-tasks/store-housekeeping.js';

/**
 * A store's worker process (M1, M11): started by the coordinator with fork(), one per store. It
 * does that store's scans and housekeeping, and the reading, coding and writing of the data sets
 * it is responsible for. It exits when the coordinator's IPC channel closes, so a killed `rain`
 * never leaves workers behind.
 */
let context: WorkerContext | undefined;
const listings = new BlockListings();
const initMode = new InitMode();

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
      context = new WorkerContext(request.slot, request.poolId, request.stores);
      process.title = `rain-worker slot=${request.slot} ${context.store(request.slot).path}`;
      return { pid: process.pid };
    case 'encode':
      return encodeDataset(requireActive(), request.ref, request.sourcePath);
    case 'decode':
      return decodeDataset(requireActive(), request.ref, request.sink);
    case 'check':
      return checkDataset(requireContext(), request.ref, { repair: request.repair, collectOlder: request.repair }, listings);
    case 'flush': {
      const ctx = requireContext();
      await ctx.directorySync.flush();
      await ctx.closeHandles();
      listings.forget();
      return { flushed: true };
    }
    case 'scan':
      return scanStore(requireContext().store(requireContext().slot).path, request.detailed === true);
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

function reply(message: WorkerReply): void {
  if (process.send) process.send(message);
}

process.on('message', (raw: unknown) => {
  const envelope = raw as WorkerEnvelope;
  handle(envelope.request).then(
    (result) => reply({ id: envelope.id, ok: true, result }),
    (error: unknown) => reply({
      id: envelope.id,
      ok: false,
      error: error instanceof Error ? error.message : String(error),
      code: error instanceof RainError ? String(error.exitCode) : errnoCode(error),
    }),
  );
});

process.on('disconnect', () => process.exit(0));
