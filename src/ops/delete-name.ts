import { faultPoint } from '../cluster/fault-points.js';
import type { CatalogRecord } from '../format/catalog-record.js';
import { newSequence } from '../format/ids.js';
import { commitRecord, dropOlderRecords } from './catalog.js';
import type { PoolSession } from './pool-session.js';
import { isBeingRead, liveWritersAhead } from './writer-heartbeat.js';

export interface DeleteOutcome {
  /** Stores that took the tombstone (0: the delete did not happen). */
  readonly committed: number;
  /** What did not work, one line per store and cause. */
  readonly problems: string[];
}

/**
 * Deletes are versions (docs/FORMAT.md §4): a tombstone with a newer sequence is committed to
 * every writable store first, then the file's older blocks and record files are removed, except
 * while a reader announced it reads the name (a later check removes them). A store that cannot
 * take part (read-only, full, gone) is named; the delete stands wherever the tombstone landed,
 * and a store that missed it is brought up to date by the next check.
 */
export async function deleteName(session: PoolSession, record: CatalogRecord, reading: ReadonlySet<string> | 'all'): Promise<DeleteOutcome> {
  const tombstone: CatalogRecord = {
    ...record, deleted: true, sequence: newSequence(record.sequence), datasetSequences: undefined, writtenAt: new Date().toISOString(),
  };
  const commit = await commitRecord(session.writablePaths, tombstone);
  const problems = [...commit.errors];
  for (const store of session.pool.stores) {
    if (store.condition === 'read-only') problems.push(`store ${store.slot} (${store.path}) is read-only: the delete is not recorded there yet; 'rain check' records it once the store is writable`);
  }
  if (commit.written === 0 || isBeingRead(reading, record.name)) return { committed: commit.written, problems };
  // A writer of a newer version (it started before this delete and wins by its sequence) may keep
  // data sets of the version deleted here: the blocks are a later check's to collect.
  if ((await liveWritersAhead(session.readablePaths)).isAhead(record.fileId, tombstone.sequence)) return { committed: commit.written, problems };
  await faultPoint('rm-committed');
  const writableSlots = new Set(session.access.filter((s) => s.writable).map((s) => s.slot));
  await session.cluster.removeOnStores({ op: 'remove-blocks', fileId: record.fileId, sequence: tombstone.sequence, which: 'older' }, writableSlots);
  await dropOlderRecords(session.writablePaths, record.name, tombstone.sequence);
  return { committed: commit.written, problems };
}
