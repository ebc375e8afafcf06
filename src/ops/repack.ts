import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DecodeResult } from '../cluster/protocol.js';
import { faultPoint } from '../cluster/fault-points.js';
import type { CatalogRecord } from '../format/catalog-record.js';
import { describeError } from '../rain-error.js';
import { tempPathIn } from '../store/durable-file.js';
import { isRemoteStorePath } from '../store/store-location.js';
import { forEachNewestRecord, readNewestRecords } from './catalog.js';
import { MAX_BYTES_PER_COMMIT } from './commit-batches.js';
import { packDecodeTask, packKey } from './decode-tasks.js';
import { isPackable } from './pack-plan.js';
import type { PoolSession } from './pool-session.js';
import { PackLiveBytes, packsToRepack, packUsage, repackRounds, storedPackBytes, type PackUsage } from './repack-selection.js';
import { trackUnfinishedFile, untrackUnfinishedFile } from './unfinished-files.js';
import { writeVersions, type PlannedVersion } from './write-versions.js';
import { isBeingRead, liveReadNames, liveWrittenVersions, WriterHeartbeat } from './writer-heartbeat.js';

export interface RepackReport {
  /** Packs whose live share was below the threshold (docs/DECISIONS.md D4). */
  readonly packsSelected: number;
  /** Of those, packs whose live files now live in new packs (the old one is unreferenced). */
  readonly packsRepacked: number;
  /** Old packs removed by this run; the rest are left to the next check (a reader or writer used them). */
  readonly oldPacksRemoved: number;
  readonly newPacks: number;
  readonly filesMoved: number;
  /** Stored bytes (all k + m blocks) of the old packs minus those of the new ones. */
  readonly bytesReclaimed: number;
  readonly dryRun: boolean;
  readonly warnings: string[];
}

/**
 * Repacks the packs whose live files fill less than REPACK_LIVE_SHARE of them (docs/FORMAT.md
 * §5.1 "Repacking"), without a lock: each pack's live files are read out with one decode of it,
 * written into new packs by the put path (new pack blocks durable on every store, then the moved
 * records committed at their own sequences, the commit point), and only then the old pack's
 * blocks removed, when no reader reads a moved name and no writer announced the old pack.
 */
export async function repackPacks(session: PoolSession, options: { dryRun?: boolean } = {}): Promise<RepackReport> {
  const { manifest } = session.pool;
  const selected = packsToRepack(packUsage(await filesOfPacksDue(session.readablePaths)));
  const stored = (packBytes: number): number => storedPackBytes(packBytes, manifest.k, manifest.m, manifest.blockSizeBytes);
  const report = {
    packsSelected: selected.length, packsRepacked: 0, oldPacksRemoved: 0, newPacks: 0, filesMoved: 0, bytesReclaimed: 0,
    dryRun: options.dryRun === true, warnings: [] as string[],
  };
  if (options.dryRun) {
    // What the moved files would need: at most one new pack per k x block size of them.
    const liveBytes = selected.reduce((sum, u) => sum + u.liveBytes, 0);
    report.packsRepacked = selected.length;
    report.filesMoved = selected.reduce((sum, u) => sum + u.members.length, 0);
    report.bytesReclaimed = selected.reduce((sum, u) => sum + stored(u.packBytes), 0) - (liveBytes > 0 ? stored(liveBytes) : 0);
    return report;
  }
  const heartbeat = new WriterHeartbeat(session.writablePaths);
  try {
    for (const round of repackRounds(selected, MAX_BYTES_PER_COMMIT)) await repackRound(session, round, heartbeat, report, stored);
  } finally {
    await heartbeat.finish();
  }
  return report;
}

/**
 * The live files of every pack due for repacking, from two passes over the catalog one bucket at a
 * time: the first sums each pack's live bytes, the second keeps the records of the due packs only
 * (a pool of a million packed files held all of them to pick a few packs).
 */
async function filesOfPacksDue(readablePaths: readonly string[]): Promise<CatalogRecord[]> {
  const usage = new PackLiveBytes();
  await forEachNewestRecord(readablePaths, (record) => void usage.add(record));
  const due = usage.due();
  const members: CatalogRecord[] = [];
  if (due.size === 0) return members;
  await forEachNewestRecord(readablePaths, (record) => {
    const key = record.deleted ? undefined : packKey(record);
    if (key !== undefined && due.has(key)) members.push(record);
  });
  return members;
}

async function repackRound(
  session: PoolSession, round: readonly PackUsage[], heartbeat: WriterHeartbeat,
  report: { -readonly [K in keyof RepackReport]: RepackReport[K] }, stored: (packBytes: number) => number,
): Promise<void> {
  const { manifest } = session.pool;
  const temps = new Map<string, string>();
  try {
    // Each old pack decoded once, every live file of it to a temporary file (checked against its CRC-32).
    const read = new Set<string>();
    for (const pack of round) for (const member of pack.members) temps.set(member.name, await newTempFile(session));
    await session.cluster.runDatasets<DecodeResult>(round.map((pack) => packDecodeTask(
      session, pack.members.map((record) => ({ record, sink: { kind: 'file' as const, path: temps.get(record.name) as string } })),
      () => { read.add(pack.key); },
      (error) => { report.warnings.push(`a pack of ${pack.members.length} files (${pack.members[0].name}, ...) could not be read, left as it is: ${describeError(error)}`); },
    )));
    const planned: PlannedVersion[] = round.filter((pack) => read.has(pack.key)).flatMap((pack) => pack.members.map((member) => ({
      sourcePath: temps.get(member.name) as string, record: unpacked(member), datasetsToWrite: [0],
    })));
    // Only a file that goes into a pack again may move: as a file of its own it would lose the tie to its old record.
    const moving = planned.filter((p) => isPackable(manifest, p));
    const movingPacks = round.filter((pack) => read.has(pack.key) && pack.members.every((m) => moving.some((p) => p.record.name === m.name)));
    const toWrite = moving.filter((p) => movingPacks.some((pack) => pack.members.some((m) => m.name === p.record.name)));
    if (toWrite.length === 0) return;
    // The new packs' sequences are above every old one's, so a moved record wins its tie (compareVersions).
    const sequenceAbove = movingPacks.reduce((max, pack) => (pack.sequence > max ? pack.sequence : max), 0n);
    const { written } = await writeVersions(session, toWrite, heartbeat, () => undefined, report.warnings, {
      faultPrefix: 'compact', packs: { minMembers: 1, sequenceAbove },
    });
    const everywhere = session.writablePaths.length === manifest.stores.length;
    const done = new Map(written.map((w) => [w.record.name, w]));
    const newPacks = new Map<string, number>();
    for (const w of written) if (w.record.pack) newPacks.set(`${w.record.pack.fileId}@${w.record.pack.sequence}`, w.record.pack.packBytes);
    report.newPacks += newPacks.size;
    report.filesMoved += written.length;
    report.bytesReclaimed -= [...newPacks.values()].reduce((sum, bytes) => sum + stored(bytes), 0);
    // Read after the commit: a reader that announces later finds the moved records; a writer that
    // announced an old pack (a sync keeping a file's place) is still reading the catalog again.
    const reading = await liveReadNames(session.readablePaths);
    const writing = await liveWrittenVersions(session.readablePaths);
    // Read after the announcements: a writer that kept a file's place in an old pack and has
    // finished (its announcement gone) committed before this, so its record is seen here.
    const names = [...done.keys()];
    const now = names.length > 0 ? (await readNewestRecords(session.readablePaths, names)).records : new Map<string, CatalogRecord>();
    const stillNamed = new Set([...now.values()].flatMap((r) => (r.pack && !r.deleted ? [`${r.pack.fileId}@${r.pack.sequence}`] : [])));
    const removable: PackUsage[] = [];
    for (const pack of movingPacks) {
      const moved = pack.members.map((m) => done.get(m.name));
      // Not repacked after all when a record names the pack again (a sync kept a file's place in it).
      if (moved.some((w) => w === undefined) || stillNamed.has(pack.key)) continue;
      report.packsRepacked++;
      report.bytesReclaimed += stored(pack.packBytes);
      const complete = everywhere && moved.every((w) => w !== undefined && w.missingBlocks === 0 && w.recordCopies === session.writablePaths.length);
      if (complete && !writing.has(pack.key) && !pack.members.some((m) => isBeingRead(reading, m.name))) removable.push(pack);
    }
    await faultPoint('compact-old-packs');
    for (const pack of removable) {
      await session.cluster.removeOnStores({ op: 'remove-blocks', fileId: pack.fileId, sequence: pack.sequence, which: 'exactly' });
      report.oldPacksRemoved++;
    }
  } finally {
    for (const temp of temps.values()) {
      await fs.rm(temp, { force: true });
      untrackUnfinishedFile(temp);
    }
  }
}

/** A moved file as a version to write: its record unchanged (name, file id, sequence, metadata) but not yet packed. */
function unpacked(member: CatalogRecord): CatalogRecord {
  const { pack: _old, ...rest } = member;
  return { ...rest, datasetCount: 1, datasetChecksums: [] };
}

/** An empty file for one moved file's bytes: in a store's tmp/ on this host (the pool's disks), else the system's. */
async function newTempFile(session: PoolSession): Promise<string> {
  const storePath = session.writablePaths.find((p) => !isRemoteStorePath(p));
  const file = storePath ? tempPathIn(storePath) : path.join(os.tmpdir(), `rain-repack-${process.pid}-${Math.random().toString(36).slice(2)}.tmp`);
  await fs.mkdir(path.dirname(file), { recursive: true });
  trackUnfinishedFile(file);
  await (await fs.open(file, 'wx', 0o600)).close();
  return file;
}
