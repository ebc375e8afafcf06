import { usageError } from '../rain-error.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 };

/** "1M", "256KiB", "65536": binary units, since block sizes are powers of two in practice. */
export function parseSize(text: string, what: string): number {
  const match = /^\s*(\d+)\s*([a-zA-Z]*)\s*$/.exec(text);
  const factor = match ? UNITS[match[2].toLowerCase()] : undefined;
  if (!match || factor === undefined) throw usageError(`${what}: '${text}' is not a size (examples: 65536, 256K, 1M)`);
  return Number(match[1]) * factor;
}

export function parseCount(text: string, what: string): number {
  if (!/^\d+$/.test(text.trim())) throw usageError(`${what} must be a whole number, got '${text}'`);
  return Number(text);
}
