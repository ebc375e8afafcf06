import { isId } from '../format/ids.js';

/**
 * The newest version of each file that a live writer announced (`fileId@sequence`, as writer
 * intents list them), for collectors of older blocks: a put after its commit, an rm after its
 * tombstone, a check after a data set is whole.
 *
 * A writer's new version may keep data sets of an older version of the same file (a sync keeps
 * the data sets whose bytes did not change, at their old sequence). While such a writer is ahead
 * of the version a collector collects for, the collector removes none of that file's blocks: the
 * writer commits after it and needs them. A later check collects them once no writer is ahead.
 * (A writer that announces after a collector looked reads the catalog again before it relies on
 * kept blocks, ops/reused-packs.ts, and so sees the commit the collector made.)
 */
export class WritersAhead {
  private readonly newest = new Map<string, bigint>();

  constructor(announced: Iterable<string>) {
    for (const version of announced) {
      // Announcements are read from the stores: anything malformed is as good as absent.
      const [fileId, digits, extra] = version.split('@');
      if (extra !== undefined || !isId(fileId) || !/^\d{1,20}$/.test(digits ?? '')) continue;
      const sequence = BigInt(digits);
      if (sequence > (this.newest.get(fileId) ?? -1n)) this.newest.set(fileId, sequence);
    }
  }

  /** A live writer announced a version of `fileId` newer than `sequence`. */
  isAhead(fileId: string, sequence: bigint): boolean {
    const newest = this.newest.get(fileId);
    return newest !== undefined && newest > sequence;
  }
}
