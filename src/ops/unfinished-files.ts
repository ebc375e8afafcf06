import fs from 'node:fs';
import { fsPath } from '../format/wire-path.js';

/**
 * Files this command is writing outside the stores (a get's .part files, a put's spool of
 * standard input in the system temp directory) until it renames or removes them. An interrupted
 * command removes what is still here before it exits (cli/interruption.ts), so Ctrl-C leaves no
 * partial file behind; only a crash can. Paths are wire paths (format/wire-path.ts): a name
 * that is not UTF-8 travels as its bytes.
 */
const unfinished = new Set<string>();

export function trackUnfinishedFile(filePath: string): void {
  unfinished.add(filePath);
}

export function untrackUnfinishedFile(filePath: string): void {
  unfinished.delete(filePath);
}

/** Removes every tracked file now (synchronously: nothing else of this process runs meanwhile). */
export function removeUnfinishedFiles(): void {
  for (const filePath of unfinished) {
    try {
      fs.rmSync(fsPath(filePath), { force: true });
    } catch {
      // A destination directory that went away or turned read-only: nothing more to do.
    }
  }
  unfinished.clear();
}
