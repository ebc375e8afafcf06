import type { PlanContents } from '../cluster/agreement/init-coordinator.js';
import { PackMembers } from './pack-members.js';
import { plannedFile, type StoreScan, type UncommittedVersion } from '../cluster/protocol.js';
import { faultPoint } from '../cluster/fault-points.js';
import { staleAfterMs } from '../cluster/timing.js';
import type { WorkerCluster } from '../cluster/worker-cluster.js';
import { datasetSequence, PACK_BLOCK_NAME, packRecordOf, type CatalogRecord } from '../format/catalog-record.js';
import { placeDataset } from '../format/placement.js';
import { storeAt } from '../store/store-set.js';
import { forEachNewestRecord, readNewestRecords } from './catalog.js';
import { compareCatalogNames } from '../format/catalog-segment.js';
import { forEachBounded } from './for-each-bounded.js';
import { PackLiveBytes } from './repack-selection.js';
import { announcerAlive, liveReadNames } from './writer-heartbeat.js';

export interface BuiltPlan {
  readonly contents: PlanContents;
  /** Entries moved aside into quarantine/ by the scans (with repair), one line each. */
  readonly movedAside: string[];
  /** Entries that are not what the store layout says (without repair, or that could not be moved). */
  readonly anomalies: string[];
  /** File ids of deleted files some store still holds blocks of: their tombstones must stay this time. */
  readonly deletedWithBlocks: ReadonlySet<string>;
  /** The live files packed in each pack (by the pack's file id): a pack's verdict is theirs. */
  readonly packMembers: ReadonlyMap<string, PackMembers>;
  /** Some pack's live share is below the repacking threshold (repack-selection.ts). */
  readonly repackDue: boolean;
}


/**
 * Everything the workers need to split the check between them: the committed files, the newest
 * sequence of the names unfinished versions are of (tombstones included), the versions on the stores that no record names
 * (unfinished writes), which of those belong to writers still alive, deleted files' leftovers,
 * the files holding misplaced blocks, and the names live readers read. The scans also check each
 * store's layout and, with `repair`, move what does not belong there aside.
 */
export async function buildCheckPlan(
  cluster: WorkerCluster, readable: readonly { slot: number; path: string }[], poolSlots: readonly number[], repair: boolean,
  /** Stores a rebuild found empty or replaced: kept as lost only where their scan finds no block. */
  lostSlots: readonly number[] = [],
): Promise<BuiltPlan> {
  const readablePaths = readable.map((s) => s.path);
  // Readers announce before they look a name up, so one that started before this plan is seen here.
  const readNames = await liveReadNames(readablePaths);
  // The catalog is read one bucket at a time and only what the plan needs is kept of each record:
  // a million small files' whole records cost the coordinator over a GB (docs/PERFORMANCE.md §5.3).
  // Kept whole: unpacked live files, tombstones and one record per pack; of a packed file only its
  // name, id and size (its pack's verdict is its own). Its file id has no blocks of its own: blocks
  // found under it are a write that never committed, and judged as one (resolve-version.ts).
  const byFileId = new Map<string, CatalogRecord>();
  const unpacked: CatalogRecord[] = [];
  const deleted: { fileId: string; sequence: bigint }[] = [];
  // A pack is checked, repaired and kept as a file of its own while a live file is packed in it
  // (docs/FORMAT.md §5.1); a pack no live file refers to is an unfinished write (resolve-version.ts).
  const packs = new Map<string, CatalogRecord>();
  const packMembers = new Map<string, PackMembers>();
  const packLiveBytes = new PackLiveBytes();
  await forEachNewestRecord(readablePaths, (record) => {
    if (record.deleted) {
      byFileId.set(record.fileId, record);
      deleted.push({ fileId: record.fileId, sequence: record.sequence });
      return;
    }
    if (!record.pack) {
      byFileId.set(record.fileId, record);
      // Directory entries have no blocks; their records are copied like every record (check-pool.ts).
      if (record.kind !== 'dir') unpacked.push(record);
      return;
    }
    if (!packs.has(record.pack.fileId)) packs.set(record.pack.fileId, packRecordOf(record));
    let members = packMembers.get(record.pack.fileId);
    if (!members) packMembers.set(record.pack.fileId, members = new PackMembers());
    members.add(record);
    packLiveBytes.add(record);
  });
  const repackDue = packLiveBytes.due().size > 0;
  for (const pack of packs.values()) byFileId.set(pack.fileId, pack);
  // A worker that dies or stalls now (a remote host gone) simply contributes no scan: it will not
  // register, its share is taken over, and versions only it holds are left for the next check.
  const scans = (await Promise.all(cluster.workers.filter((w) => w.alive).map(async (w) => {
    const scan = await w.request<StoreScan>({ op: 'scan', detailed: true, repairLayout: repair }).catch(() => undefined);
    return scan ? [{ slot: w.slot, scan }] : [];
  }))).flat();
  // Files the data set check must list: blocks at another sequence than the one of all their
  // data sets (garbage, an update in flight), or updated in part (an older data set's sequence
  // can be shared by garbage). Every other file's blocks are at one sequence only.
  const toList = new Set<string>();
  for (const record of byFileId.values()) {
    if (record.datasetSequences?.some((sequence) => sequence !== record.sequence)) toList.add(record.fileId);
  }
  const holders = new Map<string, { fileId: string; sequence: bigint; slots: number[] }>();
  const toSweep = new Set<string>();
  const deletedWithBlocks = new Set<string>();
  for (const [fileId, held] of byFile(scans)) {
    const record = byFileId.get(fileId);
    if (record?.deleted) deletedWithBlocks.add(fileId);
    const expected = record && !record.deleted ? expectedBlockCounts(record, poolSlots) : undefined;
    for (const { slot, counts } of held) {
      for (const [sequence, count] of counts) {
        if (record && sequence !== record.sequence) toList.add(fileId);
        // At or below the committed sequence: the current version, garbage the data set check
        // collects, or blocks this store should not hold at all (swept).
        if (record && sequence <= record.sequence) {
          if (expected && count > (expected.get(slot)?.get(sequence) ?? 0)) toSweep.add(fileId);
          continue;
        }
        const key = `${fileId}@${sequence}`;
        const entry = holders.get(key) ?? { fileId, sequence, slots: [] };
        entry.slots.push(slot);
        holders.set(key, entry);
      }
    }
  }
  // Without every readable store's scan, what an unscanned store holds is unknown: list every file.
  const filesToList = readable.every((store) => scans.some((s) => s.slot === store.slot)) ? [...toList] : undefined;
  const { versions: uncommitted, names: unfinishedNames } = await markNewerWrites([...holders.values()], byFileId, readable);
  uncommitted.sort((a, b) => (a.fileId < b.fileId ? -1 : a.fileId > b.fileId ? 1 : a.sequence < b.sequence ? -1 : 1));
  // A writer may commit and withdraw its announcement right here: its version is then in the
  // newest records read below, at its own sequence (resolve-version.ts leaves it alone).
  await faultPoint('check-scanned-blocks');
  const liveVersions = new Set<string>();
  const freshAfter = Date.now() - staleAfterMs();
  for (const storePath of readablePaths) {
    for (const intent of await storeAt(storePath).readWriterIntents().catch(() => [])) {
      if (!announcerAlive(intent, freshAfter)) continue;
      for (const v of intent.versions) liveVersions.add(`${v.fileId}@${v.sequence}`);
    }
  }
  // A pack no record named at the first read may be named now by a writer that finished since,
  // its announcement gone (a sync keeping a file's place in a pack a repack moved it out of,
  // docs/FORMAT.md §5.1 "Repacking"): read after the announcements, such a pack is left alone.
  if (uncommitted.some((v) => !byFileId.has(v.fileId))) {
    await forEachNewestRecord(readablePaths, (record) => {
      if (!record.deleted && record.pack && !packs.has(record.pack.fileId)) liveVersions.add(`${record.pack.fileId}@${record.pack.sequence}`);
    });
  }
  const newest = await readNewestRecords(readablePaths, [...unfinishedNames]);
  return {
    contents: {
      committed: [...unpacked.sort((a, b) => compareCatalogNames(a.name, b.name)), ...packs.values()].map(plannedFile),
      // Only the names the unfinished versions could be of (a worker reads any other it meets).
      newestByName: [...unfinishedNames].map((name) => [name, newest.records.get(name)?.sequence ?? -1n] as const),
      uncommitted,
      liveVersions: [...liveVersions],
      deleted,
      filesToList,
      filesToSweep: [...toSweep],
      readNames: readNames === 'all' ? 'all' : [...readNames],
      // A store that holds a block after all (a put wrote there since it was re-created) is read like every other.
      lostSlots: lostSlots.filter((slot) => scans.some((s) => s.slot === slot && s.scan.fileIds.length === 0)),
    },
    movedAside: scans.flatMap(({ slot, scan }) => scan.movedAside.map((line) => `store ${slot}: ${line}`)),
    anomalies: scans.flatMap(({ slot, scan }) => scan.anomalies.map((line) => `store ${slot}: ${line}`)),
    deletedWithBlocks,
    packMembers,
    repackDue,
  };
}

/**
 * Marks every unfinished version that a newer unfinished write of the same name follows (two
 * puts of a name killed one after the other). A put of a name the catalog knows reuses its file
 * id, so those versions group by file id; a put of a new name draws a new file id each time, so
 * for those the name is read from one block header. The newest write of each name is the only
 * one a check may roll forward: finishing an older one after the newer was rolled back would
 * give the name content older than the last write the user started. Also returns the names the
 * versions were found to be of (the plan gives workers those names' newest sequences).
 */
async function markNewerWrites(
  versions: readonly { fileId: string; sequence: bigint; slots: number[] }[],
  byFileId: ReadonlyMap<string, CatalogRecord>,
  readable: readonly { slot: number; path: string }[],
): Promise<{ versions: UncommittedVersion[]; names: Set<string> }> {
  const nameOf = new Map<string, string>();
  const unknown = versions.filter((v) => !byFileId.has(v.fileId));
  if (new Set(unknown.map((v) => v.fileId)).size > 1) {
    await forEachBounded(unknown, HEADER_READS_IN_FLIGHT, async (version) => {
      const name = await headerNameOf(version, readable);
      // Packs (header name '') are not writes of a name: resolvePack judges each on its own.
      if (name !== undefined && name !== PACK_BLOCK_NAME) nameOf.set(`${version.fileId}@${version.sequence}`, name);
    });
  }
  // Per name (or per file id where the name is the catalog's): the newest unfinished sequence.
  const keyOf = (v: { fileId: string; sequence: bigint }): string => {
    const known = byFileId.get(v.fileId);
    if (known) return `name:${known.name}`;
    const name = nameOf.get(`${v.fileId}@${v.sequence}`);
    return name === undefined ? `file:${v.fileId}` : `name:${name}`;
  };
  const newest = new Map<string, bigint>();
  for (const v of versions) {
    const key = keyOf(v);
    if (v.sequence > (newest.get(key) ?? -1n)) newest.set(key, v.sequence);
  }
  const names = new Set(nameOf.values());
  for (const v of versions) {
    const known = byFileId.get(v.fileId);
    if (known && known.name !== PACK_BLOCK_NAME) names.add(known.name);
  }
  return {
    versions: versions.map((v) => {
      const top = newest.get(keyOf(v));
      return top !== undefined && top > v.sequence ? { ...v, newerWrite: top } : { ...v };
    }),
    names,
  };
}

/** Header reads the plan makes at once to learn the names of unfinished writes of new names. */
const HEADER_READS_IN_FLIGHT = 16;

/** The name in a header of one of the version's blocks (undefined when none reads). */
async function headerNameOf(version: { fileId: string; sequence: bigint; slots: readonly number[] }, readable: readonly { slot: number; path: string }[]): Promise<string | undefined> {
  for (const slot of version.slots) {
    const at = readable.find((s) => s.slot === slot);
    if (!at) continue;
    const store = storeAt(at.path);
    const keys = (await store.listFileBlocks(version.fileId).catch(() => [])).filter((k) => k.sequence === version.sequence);
    for (const key of keys) {
      const header = await store.readBlockHeader(version.fileId, key).catch(() => undefined);
      if (header) return header.name;
    }
  }
  return undefined;
}

/** The scans regrouped by file id: which stores hold blocks of it, at which sequences, how many. */
function byFile(scans: readonly { slot: number; scan: StoreScan }[]): Map<string, { slot: number; counts: readonly (readonly [bigint, number])[] }[]> {
  const grouped = new Map<string, { slot: number; counts: readonly (readonly [bigint, number])[] }[]>();
  for (const { slot, scan } of scans) {
    for (const [fileId, counts] of Object.entries(scan.sequences ?? {})) {
      const list = grouped.get(fileId) ?? [];
      list.push({ slot, counts });
      grouped.set(fileId, list);
    }
  }
  return grouped;
}

/**
 * How many block files of a version each store should hold at each sequence: one per data set
 * whose placement includes the store, at that data set's sequence.
 */
function expectedBlockCounts(record: CatalogRecord, poolSlots: readonly number[]): Map<number, Map<bigint, number>> {
  const perSlot = new Map<number, Map<bigint, number>>();
  for (let d = 0; d < record.datasetCount; d++) {
    const sequence = datasetSequence(record, d);
    for (const slot of placeDataset(record.fileId, d, poolSlots, record.k + record.m)) {
      const counts = perSlot.get(slot) ?? new Map<bigint, number>();
      counts.set(sequence, (counts.get(sequence) ?? 0) + 1);
      perSlot.set(slot, counts);
    }
  }
  return perSlot;
}
