import { errnoCode, RainError } from '../rain-error.js';
import type { WorkerEnvelope, WorkerReply, WorkerRequest } from './protocol.js';
import { WorkerContext } from './worker-context.js';
import { BlockListings, checkDataset } from './worker-tasks/check-dataset.js';
import { decodeDataset } from './worker-tasks/decode-dataset.js';
import { encodeDataset } from './worker-tasks/encode-dataset.js';
import { removeFileBlocks, scanStore } from './worker-tasks/store-housekeeping.js';

/**
 * A store's worker process (M1, M11): started by the coordinator with fork(), one per store. It
 * does that store's scans and housekeeping, and the reading, coding and writing of the data sets
 * it is responsible for. It exits when the coordinator's IPC channel closes, so a killed `rain`
 * never leaves workers behind.
 */
let context: WorkerContext | undefined;
const listings = new BlockListings();

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
      return encodeDataset(requireContext(), request.ref, request.sourcePath);
    case 'decode':
      return decodeDataset(requireContext(), request.ref, request.sink);
    case 'check':
      return checkDataset(requireContext(), request.ref, request.repair, listings);
    case 'flush': {
      const ctx = requireContext();
      await ctx.directorySync.flush();
      await ctx.closeHandles();
      listings.forget();
      return { flushed: true };
    }
    case 'scan':
      return scanStore(requireContext().store(requireContext().slot).path);
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
