import { describe, expect, it } from '@jest/globals';
import { responsibleSlot } from '../../src/cluster/agreement/responsibility.js';
import { placeDataset } from '../../src/format/placement.js';
import { hash32, rankCandidates } from '../../src/format/rendezvous.js';

const fileIds = Array.from({ length: 200 }, (_, i) => hash32(`file${i}`).toString(16).padStart(8, '0').repeat(4));

describe('placement', () => {
  it('puts the k+m blocks of a data set on distinct slots, deterministically', () => {
    const slots = [0, 1, 2, 3, 4, 5, 6, 7];
    for (const fileId of fileIds.slice(0, 20)) {
      for (let d = 0; d < 20; d++) {
        const placed = placeDataset(fileId, d, slots, 6);
        expect(new Set(placed).size).toBe(6);
        expect(placeDataset(fileId, d, [...slots].reverse(), 6)).toEqual(placed);
      }
    }
  });

  it('spreads parity over every store (each slot holds parity for roughly m/n of the data sets)', () => {
    const slots = [0, 1, 2, 3, 4, 5];
    const parityCount = new Map<number, number>();
    let total = 0;
    for (const fileId of fileIds) {
      for (let d = 0; d < 30; d++) {
        for (const slot of placeDataset(fileId, d, slots, 6).slice(4)) parityCount.set(slot, (parityCount.get(slot) ?? 0) + 1);
        total += 2;
      }
    }
    for (const slot of slots) expect(Math.abs((parityCount.get(slot) ?? 0) / total - 1 / 6)).toBeLessThan(0.02);
  });

  it('is a fixed function: a known placement never changes silently (format contract)', () => {
    expect(placeDataset('00112233445566778899aabbccddeeff', 0, [0, 1, 2, 3, 4, 5], 6)).toEqual([2, 0, 3, 4, 5, 1]);
    expect(hash32('rain')).toBe(2219087437);
  });
});

describe('responsibility', () => {
  const keys = fileIds.flatMap((fileId) => Array.from({ length: 25 }, (_, d) => [fileId, d] as const));

  it('is balanced within 15% of the fair share for 6 workers', () => {
    const counts = new Map<number, number>();
    for (const [fileId, d] of keys) {
      const slot = responsibleSlot(fileId, d, [0, 1, 2, 3, 4, 5]);
      counts.set(slot, (counts.get(slot) ?? 0) + 1);
    }
    const fair = keys.length / 6;
    for (let slot = 0; slot < 6; slot++) expect(Math.abs((counts.get(slot) ?? 0) - fair) / fair).toBeLessThan(0.15);
  });

  it('moves only the data sets of a removed worker, and about 1/n when one is added', () => {
    const six = [0, 1, 2, 3, 4, 5];
    const five = [0, 1, 2, 4, 5];
    const seven = [...six, 6];
    let movedOnRemove = 0;
    let movedOnAdd = 0;
    for (const [fileId, d] of keys) {
      const before = responsibleSlot(fileId, d, six);
      const afterRemove = responsibleSlot(fileId, d, five);
      if (before !== 3) expect(afterRemove).toBe(before);
      else movedOnRemove++;
      const afterAdd = responsibleSlot(fileId, d, seven);
      if (afterAdd !== before) {
        expect(afterAdd).toBe(6);
        movedOnAdd++;
      }
    }
    expect(Math.abs(movedOnRemove / keys.length - 1 / 6)).toBeLessThan(0.03);
    expect(Math.abs(movedOnAdd / keys.length - 1 / 7)).toBeLessThan(0.03);
  });

  it('ranks are a permutation of the candidates', () => {
    expect(rankCandidates('k', [3, 1, 2]).sort()).toEqual([1, 2, 3]);
  });
});
