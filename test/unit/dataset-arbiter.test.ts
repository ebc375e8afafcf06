import { describe, expect, it } from '@jest/globals';
import { createCodec } from '../../src/codec/reed-solomon.js';
import { arbitrate, combinations as arbiterCombinations, dataChecksum, type ArbiterInput } from '../../src/dataset/arbiter.js';
import { crc32Of } from '../../src/format/checksum.js';
import { combinations } from '../helpers/combinations.js';
import { mulberry32 } from '../helpers/seeded-random.js';

/**
 * The data set checksum as arbiter (issue: a forged block must never fool get, verify or
 * rebuild). Every pattern of erased (unreadable) and wrong (readable, own CRC recomputed, bytes
 * different) blocks for small geometries, with and without a checksum in the catalog.
 */
const SHARD = 32;

interface Fixture {
  readonly original: Buffer[];
  readonly dataBytes: number;
  readonly checksum: number;
}

function fixture(k: number, m: number, dataBytes: number, seed: number): Fixture {
  const rand = mulberry32(seed);
  const original = Array.from({ length: k + m }, () => Buffer.alloc(SHARD));
  for (let i = 0; i < dataBytes; i++) original[Math.floor(i / SHARD)][i % SHARD] = Math.floor(rand() * 256);
  createCodec(k, m).encode(original.slice(0, k), original.slice(k));
  return { original, dataBytes, checksum: crc32Of(Buffer.concat(original.slice(0, k)).subarray(0, dataBytes)) };
}

/** The stores' view: erased blocks unreadable (garbage in their buffers), wrong ones with other bytes and a CRC that matches them. */
function damaged(f: Fixture, k: number, m: number, erased: readonly number[], wrong: readonly number[], known: boolean, wantParity = true): ArbiterInput {
  const shards = f.original.map((s) => Buffer.from(s));
  for (const b of erased) shards[b].fill(0xa5);
  for (const b of wrong) for (let i = 0; i < SHARD; i += 7) shards[b][i] ^= 0x5a;
  const good = shards.map((_, b) => !erased.includes(b));
  return {
    k, m, dataBytes: f.dataBytes, shards, good,
    payloadCrcs: shards.map((s, b) => (good[b] ? crc32Of(s) : undefined)),
    expectedChecksum: known ? f.checksum : undefined, wantParity,
    codec: createCodec(k, m), scratch: Buffer.alloc((k + m) * SHARD),
  };
}

const GEOMETRIES: [number, number][] = [[1, 1], [2, 1], [3, 1], [2, 2], [3, 2], [4, 2], [2, 3], [4, 3], [5, 3]];

describe('the data set checksum decides which blocks to believe', () => {
  it.each(GEOMETRIES)('k=%i m=%i: every pattern of e erased + w wrong blocks with e + w <= m is located and repaired', (k, m) => {
    for (const dataBytes of [k * SHARD, k * SHARD - 5, 1]) {
      const f = fixture(k, m, dataBytes, k * 100 + m * 10 + dataBytes);
      for (let e = 0; e <= m; e++) {
        for (const erased of combinations(k + m, e)) {
          const rest = Array.from({ length: k + m }, (_, b) => b).filter((b) => !erased.includes(b));
          for (let w = 0; e + w <= m; w++) {
            for (const wrongPick of combinations(rest.length, w)) {
              const wrong = wrongPick.map((i) => rest[i]);
              const input = damaged(f, k, m, erased, wrong, true);
              const verdict = arbitrate(input);
              expect({ erased, wrong, verdict: verdict.kind, by: verdict.kind === 'verified' ? verdict.by : '', located: verdict.kind === 'verified' ? [...verdict.wrong] : [] })
                .toEqual({ erased, wrong, verdict: 'verified', by: 'checksum', located: wrong });
              // Every block that was not good or was wrong now holds the original bytes; good ones are untouched.
              input.shards.forEach((shard, b) => expect({ b, same: shard.equals(f.original[b]) }).toEqual({ b, same: true }));
            }
          }
        }
      }
    }
  });

  it.each(GEOMETRIES)('k=%i m=%i: more damage than m is never returned as data', (k, m) => {
    const f = fixture(k, m, k * SHARD, 7 + k + m);
    for (const wrong of combinations(k + m, m + 1)) {
      if (wrong.every((b) => b >= k)) continue; // wrong parity alone leaves the data intact and verified
      const verdict = arbitrate(damaged(f, k, m, [], wrong, true));
      expect({ wrong, verdict: verdict.kind }).toEqual({ wrong, verdict: 'unverifiable' });
    }
  });

  it('a read (no parity wanted) of good data with the right checksum decodes nothing and touches no parity', () => {
    const f = fixture(4, 2, 4 * SHARD, 3);
    const input = damaged(f, 4, 2, [4, 5], [], true, false);
    const verdict = arbitrate(input);
    expect(verdict).toEqual({ kind: 'verified', by: 'checksum', wrong: [], checksum: f.checksum });
    expect(input.shards[4].every((byte) => byte === 0xa5)).toBe(true);
  });

  it('a read finds a forged data block among the data alone impossible to trust, and with parity locates it', () => {
    const f = fixture(4, 2, 4 * SHARD, 4);
    const dataOnly = damaged(f, 4, 2, [4, 5], [1], true, false);
    expect(arbitrate(dataOnly).kind).toBe('unverifiable');
    const withParity = damaged(f, 4, 2, [], [1], true, false);
    const verdict = arbitrate(withParity);
    expect(verdict.kind === 'verified' && verdict.wrong).toEqual([1]);
    expect(withParity.shards[1].equals(f.original[1])).toBe(true);
  });
});

describe('without a checksum in the catalog, agreement within the unique-decoding radius decides', () => {
  it.each(GEOMETRIES)('k=%i m=%i: w wrong blocks with 2w <= m - e are located; nothing else is adopted', (k, m) => {
    const f = fixture(k, m, k * SHARD, 11 * k + m);
    for (let e = 0; e <= m; e++) {
      for (const erased of combinations(k + m, e)) {
        const rest = Array.from({ length: k + m }, (_, b) => b).filter((b) => !erased.includes(b));
        for (let w = 0; w <= m - e; w++) {
          for (const wrongPick of combinations(rest.length, w)) {
            const wrong = wrongPick.map((i) => rest[i]);
            const input = damaged(f, k, m, erased, wrong, false);
            const verdict = arbitrate(input);
            if (2 * w <= m - e) {
              expect({ erased, wrong, kind: verdict.kind, located: verdict.kind === 'verified' ? [...verdict.wrong] : [] })
                .toEqual({ erased, wrong, kind: 'verified', located: wrong });
              input.shards.forEach((shard, b) => expect({ b, same: shard.equals(f.original[b]) }).toEqual({ b, same: true }));
            } else if (verdict.kind === 'verified') {
              // Past the radius another codeword may be closer; the arbiter must then not claim a checksum.
              expect(verdict.by).toBe('agreement');
            }
          }
        }
      }
    }
  });

  it('with m = 1, one wrong block cannot be told from the others', () => {
    const f = fixture(3, 1, 3 * SHARD, 21);
    for (let b = 0; b < 4; b++) expect(arbitrate(damaged(f, 3, 1, [], [b], false)).kind).toBe('unverifiable');
  });
});

describe('dataChecksum', () => {
  it('combines the data blocks\' own CRCs for a full data set and hashes the bytes of a short one', () => {
    const f = fixture(4, 2, 4 * SHARD, 5);
    const crcs = f.original.map((s) => crc32Of(s));
    expect(dataChecksum({ k: 4, dataBytes: 4 * SHARD }, f.original.slice(0, 4), crcs)).toBe(f.checksum);
    expect(dataChecksum({ k: 4, dataBytes: 4 * SHARD }, f.original.slice(0, 4), [])).toBe(f.checksum);
    const short = fixture(4, 2, 70, 6);
    expect(dataChecksum({ k: 4, dataBytes: 70 }, short.original.slice(0, 4), [])).toBe(short.checksum);
  });

  it('combinations enumerates every subset once', () => {
    expect([...arbiterCombinations([1, 2, 3, 4], 2)]).toEqual([[1, 2], [1, 3], [1, 4], [2, 3], [2, 4], [3, 4]]);
    expect([...arbiterCombinations([1, 2], 0)]).toEqual([[]]);
    expect([...arbiterCombinations([1], 2)]).toEqual([]);
  });
});
