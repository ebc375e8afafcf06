import type { CatalogRecord } from '../format/catalog-record.js';
import { checkFileName } from '../format/file-name.js';
import { newSequence } from '../format/ids.js';
import { ioError, usageError } from '../rain-error.js';
import { commitRecord, dropOlderRecords, readNewestRecords } from './catalog.js';
import { withSession } from './pool-session.js';

export interface RemoveReport {
  readonly removed: { name: string; sizeBytes: number }[];
  readonly warnings: string[];
}

/**
 * Deletes are versions: a tombstone record with a newer sequence is committed first, then the
 * blocks are removed. A store that was away and still holds the old record loses to the
 * tombstone when it returns, so the file does not come back.
 */
export async function removeFiles(options: { pool?: string; names: readonly string[] }): Promise<RemoveReport> {
  if (options.names.length === 0) throw usageError('rm needs at least one NAME');
  for (const name of options.names) {
    const problem = checkFileName(name);
    if (problem) throw usageError(`invalid name '${name}': ${problem}`);
  }
  return withSession(options.pool, 'rm', 'read', async (session) => {
    const catalog = await readNewestRecords(session.readablePaths, options.names);
    const targets: CatalogRecord[] = [];
    for (const name of options.names) {
      const record = catalog.records.get(name);
      if (!record || record.deleted) throw usageError(`${name}: no such file in the pool (see 'rain ls'); nothing was removed`);
      targets.push(record);
    }
    const report: RemoveReport = { removed: [], warnings: [] };
    for (const record of targets) {
      const tombstone: CatalogRecord = { ...record, deleted: true, sequence: newSequence(record.sequence), writtenAt: new Date().toISOString() };
      const commit = await commitRecord(session.writablePaths, tombstone);
      if (commit.written === 0) throw ioError(`${record.name}: could not write the delete to any store: ${commit.errors[0] ?? ''}`);
      if (commit.written < session.pool.manifest.m + 1) report.warnings.push(`${record.name}: delete recorded on only ${commit.written} stores`);
      await Promise.all(session.cluster.workers.filter((w) => w.alive).map((w) => w.request({ op: 'remove-blocks', fileId: record.fileId, sequence: tombstone.sequence, which: 'older' })));
      await dropOlderRecords(session.writablePaths, record.name, tombstone.sequence);
      report.removed.push({ name: record.name, sizeBytes: record.fileSizeBytes });
    }
    return report;
  });
}
