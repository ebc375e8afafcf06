import { readFileSync } from 'node:fs';

/**
 * The soft limit on this process's open descriptors (Node raises it to the hard limit when it
 * starts), from /proc/self/limits; undefined where that file does not say (not Linux). A reader
 * that holds many files open (a listing of many catalog segments) sizes itself by it.
 */
export function openDescriptorLimit(limitsText = readLimits()): number | undefined {
  const line = limitsText?.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === undefined) return undefined;
  if (soft === 'unlimited') return Number.MAX_SAFE_INTEGER;
  const limit = Number(soft);
  return /^[0-9]+$/.test(soft) && Number.isSafeInteger(limit) && limit > 0 ? limit : undefined;
}

function readLimits(): string | undefined {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
}
