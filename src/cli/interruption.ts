import { endAllWorkers, killAllWorkers } from '../cluster/worker-channel.js';
import { removeUnfinishedFiles } from '../ops/unfinished-files.js';
import { removeOwnTempFiles, removeTempFilesOfExited } from '../store/durable-file.js';
import { stopStoreChanges } from '../store/stopping.js';
import { exitCodeOfSignal, type StopSignal } from './exit-codes.js';

/**
 * Ctrl-C (SIGINT) and SIGTERM stop any command within a second, as a crash at that moment would,
 * minus the litter: no store is changed after the signal (store/stopping.ts), so what was
 * committed stays committed and a version under way is left for the next check exactly as a
 * crash leaves it; then the workers are told to stop and remove their temp files, this process
 * removes its own and its partial output files, and exits 130 or 143. A second signal while
 * that runs exits at once.
 */

/** How long the workers get to remove their temp files and exit before they are killed. */
const WORKERS_STOP_GRACE_MS = 500;
/** How long a killed worker may take to be gone before its temp files are removed for it. */
const KILLED_WORKER_WAIT_MS = 200;
/** Whatever happens, the process is gone this long after the signal. */
const STOP_LIMIT_MS = 900;

let stoppedBy: StopSignal | undefined;
let command: { name: string; recursive: boolean } | undefined;
let commandFinished = false;
let stopOutput: (() => void) | undefined;

/** Which command runs (commander's preAction hook), for a message that is true for it. */
export function noteRunningCommand(name: string, recursive: boolean): void {
  command = { name, recursive };
}

/** Called before the message is printed: a running spinner must stop first, or it overdraws the line. */
export function beforeInterruptionMessage(stop: () => void): void {
  stopOutput = stop;
}

/** The command's body has returned and printed its result: a signal now only cuts the teardown short. */
export function noteCommandFinished(): void {
  commandFinished = true;
}

/** The signal that stopped this command, if one did: its errors are then not worth a message. */
export function interruptedBy(): StopSignal | undefined {
  return stoppedBy;
}

export function installInterruptHandlers(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(signal));
}

async function stop(signal: StopSignal): Promise<void> {
  if (stoppedBy !== undefined) {
    // A second Ctrl-C: the user does not want to wait for the workers (their temp files may stay).
    killAllWorkers();
    removeLeftovers();
    process.exit(exitCodeOfSignal(stoppedBy));
  }
  stoppedBy = signal;
  stopStoreChanges(signal);
  const exitCode = commandFinished && process.exitCode !== undefined ? Number(process.exitCode) : exitCodeOfSignal(signal);
  process.exitCode = exitCode;
  // The operation's code still runs until the exit and now fails at every turn (its workers are
  // going, no store may change): those failures are the interruption, not news for the user.
  process.on('uncaughtException', () => undefined);
  process.on('unhandledRejection', () => undefined);
  setTimeout(() => {
    removeLeftovers();
    process.exit(exitCode);
  }, STOP_LIMIT_MS);
  if (!commandFinished) {
    stopOutput?.();
    const message = interruptionMessage(signal);
    process.stderr.write(`rain: ${message}\n`);
    if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify({ ok: false, exitCode, error: message }, null, 2)}\n`);
  }
  removeLeftovers();
  const killed = await endAllWorkers(WORKERS_STOP_GRACE_MS, KILLED_WORKER_WAIT_MS);
  removeTempFilesOfExited(killed.pids, killed.storePaths);
  removeLeftovers();
  process.exit(exitCode);
}

function removeLeftovers(): void {
  removeUnfinishedFiles();
  removeOwnTempFiles();
}

/** One line, true for the command that was running. */
export function interruptionMessage(signal: StopSignal): string {
  const head = `interrupted (${signal})`;
  switch (command?.name) {
    case 'put':
    case 'sync':
      return `${head}; files committed before are kept, the interrupted ${command.name} is left for the next check to finish or undo`;
    case 'get':
      return command.recursive
        ? `${head}; files already written are kept, partly written ones were removed; the pool is unchanged`
        : `${head}; no partial file was left (output to a pipe is incomplete); the pool is unchanged`;
    case 'rm':
      return `${head}; removals committed before are kept, the interrupted one is left for the next check to finish or undo`;
    case 'verify':
      return `${head}; the verify did not finish, so there is no verdict; nothing was repaired`;
    case 'check':
      return `${head}; repairs already made are kept, the rest is left for the next check`;
    case 'rebuild':
      return `${head}; blocks already restored are kept; run rebuild again to finish`;
    case 'status':
    case 'ls':
      return `${head}; nothing was changed`;
    default:
      return head;
  }
}
