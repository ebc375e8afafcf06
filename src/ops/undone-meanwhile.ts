import type { EncodeResult } from '../cluster/protocol.js';
import { staleAfterMs } from '../cluster/timing.js';
import type { CatalogRecord } from '../format/catalog-record.js';
import { ioError } from '../rain-error.js';
import { storeAt } from '../store/store-set.js';
import type { PoolSession } from './pool-session.js';
import type { WriterHeartbeat } from './writer-heartbeat.js';

/**
 * A check on another machine judges this writer by its heartbeat alone. If the heartbeat was
 * silent for half the stale limit or more (the process paused, a frozen VM), such a check may have
 * taken its versions for abandoned and undone them: before committing, every block written is
 * looked for, and a version missing one is not committed (its record would name blocks that are
 * gone, and the collection after it would remove the previous version's). The command fails;
 * the previous versions stay as they were. A running heartbeat makes this a no-op.
 */
export async function refuseIfUndoneMeanwhile(
  session: PoolSession, heartbeat: WriterHeartbeat,
  writing: readonly { record: CatalogRecord }[], results: readonly ReadonlyMap<number, EncodeResult>[],
): Promise<void> {
  const silentMs = heartbeat.longestSilenceMs();
  if (silentMs * 2 < staleAfterMs()) return;
  const listed = new Map<string, Promise<Set<string>>>();
  const blocksOn = (slot: number, fileId: string): Promise<Set<string>> | undefined => {
    const store = session.access.find((s) => s.slot === slot && s.readable);
    if (!store) return undefined;
    const key = `${slot}/${fileId}`;
    let keys = listed.get(key);
    if (!keys) {
      keys = storeAt(store.path).listFileBlocks(fileId)
        .then((found) => new Set(found.map((k) => `${k.datasetIndex}.${k.blockIndex}.${k.sequence}`)), () => new Set<string>());
      listed.set(key, keys);
    }
    return keys;
  };
  for (const [i, { record }] of writing.entries()) {
    for (const [d, result] of results[i]) {
      const placement = session.datasetRef(record, d).placement;
      for (const b of result.written) {
        const found = await blocksOn(placement[b], record.fileId);
        if (found === undefined || found.has(`${d}.${b}.${record.sequence}`)) continue;
        throw ioError(`${record.name || 'a pack of small files'}: this command was paused for ${Math.round(silentMs / 1000)} s, longer than a check elsewhere waits for a writer (${Math.round(staleAfterMs() / 1000)} s), and blocks it wrote are gone (a check undid the unfinished version); nothing of it was committed, the previous version is kept: run the command again`);
      }
    }
  }
}
