import { ioError } from '../rain-error.js';

/**
 * Once a command is interrupted (Ctrl-C, SIGTERM) this process changes no store any more: what
 * its stores hold at that moment is what a crash at that moment would have left, which the next
 * check knows how to finish or undo. The operation's own code may still run for the few hundred
 * milliseconds it takes the workers to stop; every write, rename into place and removal it
 * attempts in that time fails here instead of reaching a disk.
 */
let stoppedBy: string | undefined;

/** From now on no store in this process is changed (`why`: the signal, for the error message). */
export function stopStoreChanges(why: string): void {
  stoppedBy ??= why;
}

export function storeChangesStopped(): boolean {
  return stoppedBy !== undefined;
}

/** Throws once changes are stopped; called before every change to a store. */
export function refuseIfStopped(): void {
  if (stoppedBy !== undefined) throw ioError(`interrupted (${stoppedBy})`);
}
