import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { warmUpMemory } from './memory-warm-up.js';
import { waitForQuiet } from './system-load.js';

/**
 * What every timed phase starts with: wait for a quiet machine, touch the memory the phase will
 * fill (see memory-warm-up.ts), then a cold page cache.
 */
export async function prepareTimedPhase(waitQuiet = true): Promise<boolean> {
  if (waitQuiet) await waitForQuiet();
  await warmUpMemory();
  return syncAndDropPageCache();
}

/**
 * Flushes dirty pages (always, so one phase's write-back does not land in the next phase's
 * timing) and then drops the page cache if we may (root). Returns whether the cache was dropped;
 * when it was not, the following phase runs with a warm cache and the report says so.
 */
export function syncAndDropPageCache(): boolean {
  try {
    execFileSync('sync', { stdio: 'ignore' });
  } catch {
    // sync(1) missing: the drop below still writes back what it can
  }
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}
