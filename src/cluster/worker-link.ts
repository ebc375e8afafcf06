import { encodeFrame, FrameReader } from './frames.js';
import type { FromWorker, ToWorker } from './protocol.js';

/** A worker's end of its channel to the coordinator. */
export interface WorkerLink {
  /** True when started over ssh on the store's host (frames on stdin/stdout). */
  readonly remote: boolean;
  send(message: FromWorker): void;
  onMessage(listener: (message: ToWorker) => void): void;
  onClose(listener: () => void): void;
}

export function openWorkerLink(): WorkerLink {
  return process.send ? ipcLink() : stdioLink();
}

function ipcLink(): WorkerLink {
  return {
    remote: false,
    // The coordinator may be gone (it exits at the first failure): the reply then has nowhere to
    // go, and the worker exits on 'disconnect'; without a callback the failed send would be
    // thrown as an unhandled 'error' event and print a stack trace on the user's terminal.
    send: (message) => { process.send?.(message, undefined, {}, () => undefined); },
    onMessage: (listener) => { process.on('message', (raw: unknown) => listener(raw as ToWorker)); },
    onClose: (listener) => { process.on('disconnect', listener); },
  };
}

/**
 * stdout belongs to the protocol: anything else printed there would corrupt the frame stream,
 * so console output is sent to stderr (which ssh passes back to the coordinator's error tail).
 */
function stdioLink(): WorkerLink {
  const out = process.stdout;
  console.log = console.error;
  console.info = console.error;
  const reader = new FrameReader();
  return {
    remote: true,
    send: (message) => { out.write(encodeFrame(message)); },
    onMessage: (listener) => {
      process.stdin.on('data', (chunk: Buffer) => {
        let messages: unknown[];
        try {
          messages = reader.push(chunk);
        } catch (error) {
          process.stderr.write(`rain: remote worker: ${error instanceof Error ? error.message : String(error)}\n`);
          process.exit(74);
        }
        for (const message of messages) listener(message as ToWorker);
      });
    },
    onClose: (listener) => {
      process.stdin.on('end', listener);
      process.stdin.on('error', listener);
      out.on('error', listener);
    },
  };
}
