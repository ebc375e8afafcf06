import type { EncodeResult } from '../cluster/protocol.js';
import type { PackSource } from '../cluster/pack-sources.js';
import { faultPoint } from '../cluster/fault-points.js';
import { datasetSequence, type CatalogRecord } from '../format/catalog-record.js';
import { datasetExtent } from '../format/dataset-geometry.js';
import { allowsCatalogSegments } from '../format/manifest.js';
import { ioError } from '../rain-error.js';
import { commitRecords, dropOlderRecordsOf } from './catalog.js';
import { planPacks, type PackPlanOptions } from './pack-plan.js';
import { keptMeanwhileGone, reusedPacks } from './reused-packs.js';
import type { PoolSession } from './pool-session.js';
import { unchangedSince, type SourceStamp } from './source-stamp.js';
import { isBeingRead, liveReadNames, liveWritersAhead, type WriterHeartbeat } from './writer-heartbeat.js';
import { recordStoreFaults } from './store-faults.js';
import { refuseIfUndoneMeanwhile } from './undone-meanwhile.js';

/** One new version of one name: which data sets to encode from `sourcePath`, the rest kept. */
export interface PlannedVersion {
  readonly sourcePath: string;
  /** What the source looked like when planned; checked again before the version commits. */
  readonly stamp?: SourceStamp;
  /** datasetChecksums is filled in from what the workers actually read. */
  readonly record: CatalogRecord;
  readonly datasetsToWrite: readonly number[];
  /** The name's newest record (tombstones too); required whenever record.fileId is reused from it. */
  readonly previous?: CatalogRecord;
  /**
   * Per data set to write, the checksum its bytes had in `previous`: a worker that reads the same
   * checksum writes nothing and reports the data set kept (undefined entries are always written).
   * The version committed is then what writeVersions' `settle` makes of the plan and the kept set.
   */
  readonly keepIfChecksums?: readonly (number | undefined)[];
}

/**
 * For a version whose workers compared as they read (keepIfChecksums): the plan to commit given
 * the data sets found unchanged (its datasetsToWrite then those rewritten), or undefined to
 * commit nothing (every byte was the same and nothing else asks for a new version).
 */
export type SettleVersion<P extends PlannedVersion> = (plan: P, kept: ReadonlySet<number>) => P | undefined;

export interface WrittenVersion<P extends PlannedVersion = PlannedVersion> {
  /** The plan as committed (settled, for one whose workers compared). */
  readonly plan: P;
  readonly record: CatalogRecord;
  readonly missingBlocks: number;
  readonly bytesWritten: number;
  /** How many stores took its catalog record. */
  readonly recordCopies: number;
  /** Why blocks are missing, one line per store (its name and the cause in words). */
  readonly failures: readonly string[];
}

/** How a caller other than put writes: a sync that compares as it reads, a repack (ops/repack.ts). */
export interface WriteOptions<P extends PlannedVersion> {
  /** Fault point names are `<prefix>-planned`, `-announced`, `-blocks-written`, `-committed` (put and sync: 'put'). */
  readonly faultPrefix?: string;
  readonly packs?: PackPlanOptions;
  /** What a version whose workers compared as they read (keepIfChecksums) becomes: required for those. */
  readonly settle?: SettleVersion<P>;
}

export interface WriteOutcome<P extends PlannedVersion = PlannedVersion> {
  readonly written: WrittenVersion<P>[];
  /** Versions not committed because their source changed while it was read: the caller reads them again or keeps the old one. */
  readonly changed: P[];
  /** Versions whose workers found every byte the same and that `settle` left uncommitted. */
  readonly unchanged: P[];
  /** Source bytes read by the workers of versions with keepIfChecksums (the comparison a sync reports). */
  readonly comparedBytes: number;
}

/**
 * Writes new versions the crash-safe way (docs/PROTOCOL.md): announce them (writer intent) ->
 * every changed data set encoded by its responsible worker as new block files at the new
 * sequence -> directories fsynced -> each source checked unchanged -> the catalog record written
 * to every store (the commit point) -> only then the older blocks removed, unless a reader is
 * reading the name. A crash before the commit leaves the old version readable and the new blocks
 * for the next check to finish or undo. A data set its worker found unchanged (keepIfChecksums)
 * writes nothing and keeps the previous version's blocks, as one never planned for writing does.
 */
export async function writeVersions<P extends PlannedVersion>(
  session: PoolSession, given: readonly P[], heartbeat: WriterHeartbeat,
  progress: (bytes: number) => void, warnings: string[], options: WriteOptions<P> = {},
): Promise<WriteOutcome<P>> {
  const { settle } = options;
  const { manifest } = session.pool;
  const faultPrefix = options.faultPrefix ?? 'put';
  // Small files go into packs (docs/FORMAT.md §5.1): a packed file has no data sets of its own.
  const packs = planPacks(manifest, given, options.packs);
  const packOf = new Map<number, { pack: number; offsetBytes: number; order: number }>();
  packs.forEach((pack, j) => pack.members.forEach((member, order) => packOf.set(member.index, { pack: j, offsetBytes: member.offsetBytes, order })));
  const planned: P[] = given.map((p, i) => (packOf.has(i)
    ? { ...p, record: withoutDatasets(p.record), datasetsToWrite: [] }
    : p));
  // What the workers encode: the files' own data sets, then each pack's one data set.
  const writing: { record: CatalogRecord; sourcePath: string; datasetsToWrite: readonly number[]; packSources?: readonly PackSource[]; keepIfChecksums?: readonly (number | undefined)[] }[] = [
    ...planned, ...packs.map((pack) => ({ record: pack.record, sourcePath: '', datasetsToWrite: [0], packSources: pack.sources })),
  ];
  const packIndex = (j: number): number => planned.length + j;
  const results = writing.map(() => new Map<number, EncodeResult>());
  await faultPoint(`${faultPrefix}-planned`);
  // A version keeping its place in a pack or data sets of the previous version announces, then
  // reads the catalog again: a repack, put or rm that replaced what it keeps meanwhile either
  // sees the announcement (and leaves it) or is seen here (and the version is planned again).
  await heartbeat.announce([...writing.map((w) => w.record), ...reusedPacks(planned)]);
  await faultPoint(`${faultPrefix}-announced`);
  const moved = await keptMeanwhileGone(session.readablePaths, planned);
  try {
    await session.cluster.runDatasets<EncodeResult>(writing.flatMap((w, i) => w.datasetsToWrite.map((d) => ({
      fileId: w.record.fileId,
      datasetIndex: d,
      request: {
        op: 'encode' as const, ref: session.datasetRef(w.record, d), sourcePath: w.sourcePath,
        ...(w.packSources ? { packSources: w.packSources } : {}),
        ...(w.keepIfChecksums?.[d] === undefined ? {} : { keepIfChecksum: w.keepIfChecksums[d] }),
      },
      done: (result: EncodeResult) => {
        results[i].set(d, result);
        if (result.sourceEnded || result.kept) return;
        if (result.written.length < manifest.k) {
          const what = w.packSources ? `a pack of ${w.packSources.length} small files` : w.record.name;
          throw ioError(`${what}: data set ${d} reached only ${result.written.length} stores, ${manifest.k} needed: ${summariseFailures(result.failed).join('; ')}`);
        }
        progress(Math.min(w.record.fileSizeBytes - d * manifest.k * manifest.blockSizeBytes, manifest.k * manifest.blockSizeBytes));
      },
    }))));
    const notDurable = await session.cluster.flush();
    if (notDurable.size > 0) discountNotDurable(session, writing, results, notDurable);
    await faultPoint(`${faultPrefix}-blocks-written`);
    await refuseIfUndoneMeanwhile(session, heartbeat, writing, results);
  } catch (error) {
    await undoBlocks(session, writing.map((w) => w.record));
    await recordStoreFaults(session.writablePaths, manifest, failuresBySlot(results), session.what, session.startedMs);
    throw error;
  }
  await recordStoreFaults(session.writablePaths, manifest, failuresBySlot(results), session.what, session.startedMs);
  // A source that changed while the workers read it is not committed as whatever was read; a
  // pack one of whose files shrank under it is not committed at all (its files are read again).
  const packEnded = packs.map((_, j) => [...results[packIndex(j)].values()].some((r) => r.sourceEnded));
  const endedPacks = packs.filter((_, j) => packEnded[j]);
  if (endedPacks.length > 0) await undoBlocks(session, endedPacks.map((pack) => pack.record));
  const changed: P[] = planned.filter((p, i) => {
    const inPack = packOf.get(i);
    if (inPack !== undefined) {
      // The pack's worker checked each file's stamp as it read it (cluster/pack-sources.ts).
      const checked = results[packIndex(inPack.pack)].get(0)?.changedMembers;
      if (packEnded[inPack.pack] || moved.has(i) || checked?.includes(inPack.order) === true) return true;
      if (checked !== undefined) return false;
    }
    return [...results[i].values()].some((r) => r.sourceEnded) || moved.has(i)
      || (p.stamp !== undefined && !unchangedSince(p.sourcePath, p.stamp));
  });
  const changedOwn = changed.filter((p) => p.datasetsToWrite.length > 0);
  if (changedOwn.length > 0) await undoBlocks(session, changedOwn.map((p) => p.record));
  const encodedFor = (i: number): Map<number, EncodeResult> => {
    const inPack = packOf.get(i);
    return inPack === undefined ? results[i] : results[packIndex(inPack.pack)];
  };
  const comparedBytes = planned.reduce((sum, p, i) => (p.keepIfChecksums === undefined ? sum
    : [...results[i].values()].reduce((bytes, r) => bytes + r.sourceBytesRead, sum)), 0);
  // A version whose workers compared as they read becomes what its caller makes of the kept data sets.
  const unchanged: P[] = [];
  const committing: { p: P; i: number; encoded: Map<number, EncodeResult> }[] = [];
  for (const [i, p] of planned.entries()) {
    if (changed.includes(p)) continue;
    if (p.keepIfChecksums === undefined) {
      committing.push({ p, i, encoded: encodedFor(i) });
      continue;
    }
    if (!settle) throw new Error(`${p.record.name}: a version compared by its workers needs settling`);
    const kept = new Set([...results[i].values()].filter((r) => r.kept).map((r) => r.datasetIndex));
    const settled = settle(p, kept);
    if (settled === undefined || settled.record.sequence !== p.record.sequence) {
      if (kept.size < p.datasetsToWrite.length) await undoBlocks(session, [p.record]);
      if (settled === undefined) {
        unchanged.push(p);
        continue;
      }
      throw new Error(`${p.record.name}: a settled version must keep the sequence its blocks were written at`);
    }
    committing.push({ p: settled, i, encoded: encodedFor(i) });
  }
  const records = committing.map(({ p, i, encoded }): CatalogRecord => {
    const inPack = packOf.get(i);
    if (inPack === undefined) {
      return {
        ...p.record,
        datasetChecksums: Array.from({ length: p.record.datasetCount }, (_, d) => encoded.get(d)?.dataChecksum ?? p.previous?.datasetChecksums[d] ?? 0),
      };
    }
    const pack = packs[inPack.pack].record;
    const packed = encoded.get(0) as EncodeResult;
    const fileChecksum = packed.memberChecksums?.[inPack.order];
    if (fileChecksum === undefined) throw new Error(`${p.record.name}: the pack's encode did not report this file's checksum`);
    return {
      ...p.record,
      pack: {
        fileId: pack.fileId, sequence: pack.sequence, packBytes: pack.fileSizeBytes, packChecksum: packed.dataChecksum,
        offsetBytes: inPack.offsetBytes, fileChecksum,
      },
    };
  });
  // Every version's blocks are durable (flushed above), so all records may commit together.
  const commits = await commitRecords(session.writablePaths, records, allowsCatalogSegments(session.pool.manifest));
  const written: WrittenVersion<P>[] = [];
  const complete: CatalogRecord[] = [];
  const packWarned = new Set<number>();
  for (let n = 0; n < committing.length; n++) {
    const record = records[n];
    const { encoded, i, p } = committing[n];
    const commit = commits[n];
    const inPack = packOf.get(i);
    if (commit.written === 0) {
      await undoBlocks(session, [record]);
      throw ioError(`${record.name}: the catalog record could not be written to any store: ${commit.errors[0] ?? ''}`);
    }
    await faultPoint(`${faultPrefix}-committed`);
    const failures = summariseFailures([...encoded.values()].flatMap((r) => r.failed));
    const missingBlocks = [...encoded.values()].reduce((sum, r) => sum + r.failed.length, 0);
    const geometry = { fileSizeBytes: record.fileSizeBytes, k: record.k, blockSizeBytes: record.blockSizeBytes };
    const bytesWritten = inPack !== undefined
      ? Math.ceil(record.fileSizeBytes * (record.k + record.m) / record.k)
      : [...encoded.values()].reduce((sum, r) => sum + r.written.length * datasetExtent(geometry, r.datasetIndex).shardBytes, 0);
    if (commit.written < manifest.m + 1) warnings.push(`${record.name}: catalog record on only ${commit.written} stores (${commit.errors[0] ?? 'stores down'}); run 'rain rebuild'`);
    if (missingBlocks > 0) {
      if (inPack === undefined) {
        warnings.push(`${record.name}: ${missingBlocks} blocks not written (${failures.join('; ')}); run 'rain rebuild' once the stores can take them`);
      } else if (!packWarned.has(inPack.pack)) {
        packWarned.add(inPack.pack);
        warnings.push(`a pack of ${packs[inPack.pack].members.length} small files (${record.name}, ...): ${missingBlocks} blocks not written (${failures.join('; ')}); run 'rain rebuild' once the stores can take them`);
      }
    } else if (committing[n].p.previous !== undefined) {
      // Complete on every store that should hold it: the older blocks are garbage now. A file
      // id drawn fresh for this version (no previous record) has no older blocks to look for.
      complete.push(record);
    }
    written.push({ plan: p, record, missingBlocks, bytesWritten, recordCopies: commit.written, failures });
  }
  await collectOlder(session, complete);
  return { written, changed, unchanged, comparedBytes };
}

/** A packed file's own record: no data sets (its bytes are in its pack's). */
function withoutDatasets(record: CatalogRecord): CatalogRecord {
  const { datasetSequences: _unused, ...rest } = record;
  return { ...rest, datasetCount: 0, datasetChecksums: [] };
}

/**
 * Removes the blocks and record files older than each newly complete version, except for names a
 * reader announced it reads: a read that looked the name up before this commit still needs them,
 * and a later check collects them. Read after the commit, so a reader that announces later finds
 * the new version and needs nothing older. Likewise a file a live writer is writing a newer
 * version of keeps its blocks: that version may keep data sets of an older one (a sync), and
 * commits after this (dataset/writers-ahead.ts).
 */
async function collectOlder(session: PoolSession, complete: readonly CatalogRecord[]): Promise<void> {
  if (complete.length === 0) return;
  const reading = await liveReadNames(session.readablePaths);
  const ahead = await liveWritersAhead(session.readablePaths);
  const collectable = complete.filter((record) => !isBeingRead(reading, record.name) && !ahead.isAhead(record.fileId, record.sequence));
  for (const record of collectable) {
    const datasetSequences = Array.from({ length: record.datasetCount }, (_, d) => datasetSequence(record, d));
    await session.cluster.removeOnStores({ op: 'collect-older', fileId: record.fileId, sequence: record.sequence, datasetSequences });
  }
  await dropOlderRecordsOf(session.writablePaths, collectable);
}

/**
 * Blocks on a store whose flush failed may not be durable: they count as not written. A data set
 * left with fewer than k durable blocks fails the write as a whole, as when the blocks were refused.
 */
function discountNotDurable(
  session: PoolSession, planned: readonly { record: CatalogRecord }[], results: readonly Map<number, EncodeResult>[], notDurable: ReadonlyMap<number, string>,
): void {
  planned.forEach((p, i) => {
    for (const [d, result] of results[i]) {
      const placement = session.datasetRef(p.record, d).placement;
      const lost = result.written.filter((b) => notDurable.has(placement[b]));
      if (lost.length === 0) continue;
      const written = result.written.filter((b) => !lost.includes(b));
      const failed = [...result.failed, ...lost.map((b) => ({ blockIndex: b, slot: placement[b], reason: `store ${placement[b]}: not made durable: ${notDurable.get(placement[b])}` }))];
      if (written.length < session.pool.manifest.k) {
        throw ioError(`${p.record.name}: data set ${d} is durable on only ${written.length} stores, ${session.pool.manifest.k} needed: ${summariseFailures(failed).join('; ')}`);
      }
      results[i].set(d, { ...result, written, failed });
    }
  });
}

/** The first reason each store gave for a block it did not take (blocks of stores known down included: they are missing there too). */
function failuresBySlot(results: readonly Map<number, EncodeResult>[]): Map<number, string> {
  const bySlot = new Map<number, string>();
  for (const result of results.flatMap((r) => [...r.values()])) {
    for (const failure of result.failed) if (!bySlot.has(failure.slot)) bySlot.set(failure.slot, failure.reason);
  }
  return bySlot;
}

/** One line per store and cause ("store 3: the disk is full (ENOSPC)"), however many blocks it cost. */
function summariseFailures(failed: readonly { slot: number; reason: string }[]): string[] {
  const counts = new Map<string, number>();
  for (const f of failed) {
    const reason = f.reason.startsWith(`store ${f.slot}`) ? f.reason : `store ${f.slot}: ${f.reason}`;
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return [...counts].map(([reason, count]) => (count > 1 ? `${reason} (${count} blocks)` : reason));
}

/** A write that failed leaves no blocks of its version behind (best effort; the check collects the rest). */
async function undoBlocks(session: PoolSession, records: readonly CatalogRecord[]): Promise<void> {
  for (const record of records) {
    await session.cluster.removeOnStores({ op: 'remove-blocks', fileId: record.fileId, sequence: record.sequence, which: 'exactly' });
  }
}
