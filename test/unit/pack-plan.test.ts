import { describe, expect, it } from '@jest/globals';
import type { CatalogRecord } from '../../src/format/catalog-record.js';
import { newId, newSequence } from '../../src/format/ids.js';
import type { Manifest } from '../../src/format/manifest.js';
import { isPackable, PACK_MEMBER_MAX_BYTES, planPacks, type PackCandidate } from '../../src/ops/pack-plan.js';

/** Which files go into packs and how packs are filled (docs/FORMAT.md §5.1): a pure function of sizes. */
function manifestOf(k: number, blockSizeBytes: number, formatVersion: 1 | 2 = 2): Manifest {
  return {
    poolId: newId(), name: 'p', k, m: 1, blockSizeBytes, epoch: 1, responsibilityVersion: 1, formatVersion,
    stores: Array.from({ length: k + 1 }, (_, slot) => ({ slot, storeId: newId(), path: `/s${slot}` })), createdAt: 'now',
  };
}

function candidate(sizeBytes: number, datasetCount = 1): PackCandidate {
  const record: CatalogRecord = {
    name: `f${sizeBytes}-${Math.random()}`, fileId: newId(), sequence: newSequence(), deleted: false, fileSizeBytes: sizeBytes,
    k: 2, m: 1, blockSizeBytes: 4096, datasetCount, writtenAt: 'now', datasetChecksums: [],
  };
  return { sourcePath: `/src/${record.name}`, record, datasetsToWrite: Array.from({ length: datasetCount }, (_, d) => d) };
}

describe('pack planning', () => {
  it('never fills a pack beyond k x block size, and keeps files larger than half a pack out', () => {
    const manifest = manifestOf(3, 4096); // a pack holds 12 KiB
    const sizes = [50_000, 9000, 6144, 6145, 100, 2000, 2000, 4000, 4000, 4000, 1];
    const planned = sizes.map((s) => candidate(s));
    const packs = planPacks(manifest, planned);
    const packed = packs.flatMap((p) => p.members.map((m) => planned[m.index].record.fileSizeBytes));
    expect(packed.sort((a, b) => a - b)).toEqual([1, 100, 2000, 2000, 4000, 4000, 4000, 6144]);
    for (const pack of packs) {
      expect(pack.record.fileSizeBytes).toBeLessThanOrEqual(3 * 4096);
      expect(pack.record.datasetCount).toBe(1);
      expect(pack.record.name).toBe('');
      // Members lie end to end from offset 0, in order.
      let offset = 0;
      for (const member of pack.members) {
        expect(member.offsetBytes).toBe(offset);
        offset += planned[member.index].record.fileSizeBytes;
      }
      expect(offset).toBe(pack.record.fileSizeBytes);
    }
  });

  it('packs nothing in a format-1 pool, a lone small file, an empty file or a partial update', () => {
    expect(planPacks(manifestOf(2, 1 << 20, 1), [candidate(10), candidate(20)])).toEqual([]);
    expect(planPacks(manifestOf(2, 1 << 20), [candidate(10), candidate(PACK_MEMBER_MAX_BYTES + 1)])).toEqual([]);
    expect(isPackable(manifestOf(2, 1 << 20), candidate(0))).toBe(false);
    const partial = { ...candidate(100), datasetsToWrite: [] };
    expect(isPackable(manifestOf(2, 1 << 20), partial)).toBe(false);
    expect(isPackable(manifestOf(2, 1 << 20), candidate(PACK_MEMBER_MAX_BYTES))).toBe(true);
  });
});
