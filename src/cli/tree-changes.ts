import type { TreeChange } from '../ops/tree-diff.js';
import type { Output } from './output.js';

/** Wider names still get their reasons, just not aligned. */
const MAX_NAME_COLUMN = 60;

/**
 * One line per name, rsync --itemize-changes style: `+` added, `~` updated, `-` deleted, the name
 * (a directory with a trailing `/`), then why: new, gone, size, content, mtime, mode, owner, ...
 */
export function printTreeChanges(out: Output, changes: readonly TreeChange[]): void {
  const shown = changes.map((c) => `${c.name}${c.kind === 'dir' ? '/' : ''}`);
  const width = Math.min(MAX_NAME_COLUMN, Math.max(0, ...shown.map((s) => s.length)));
  changes.forEach((c, i) => out.line(`${c.mark} ${shown[i].padEnd(width)}  ${c.reasons.join(',')}`));
}

/** The counts a summary line and --json give. */
export function countChanges(changes: readonly TreeChange[]): { added: number; updated: number; deleted: number } {
  return {
    added: changes.filter((c) => c.mark === '+').length,
    updated: changes.filter((c) => c.mark === '~').length,
    deleted: changes.filter((c) => c.mark === '-').length,
  };
}
