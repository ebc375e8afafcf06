import type { CatalogRecord } from '../format/catalog-record.js';
import { checkFileName } from '../format/file-name.js';
import { ioError, usageError } from '../rain-error.js';
import { readNewestRecords } from './catalog.js';
import { deleteName } from './delete-name.js';
import { liveReadNames } from './writer-heartbeat.js';
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
    const reading = await liveReadNames(session.readablePaths);
    for (const record of targets) {
      const outcome = await deleteName(session, record, reading);
      if (outcome.committed === 0) throw ioError(`${record.name}: could not write the delete to any store: ${outcome.problems[0] ?? ''}`);
      for (const problem of outcome.problems) report.warnings.push(`${record.name}: ${problem}`);
      if (outcome.committed < session.pool.manifest.m + 1) report.warnings.push(`${record.name}: delete recorded on only ${outcome.committed} stores`);
      report.removed.push({ name: record.name, sizeBytes: record.fileSizeBytes });
    }
    return report;
  });
}
