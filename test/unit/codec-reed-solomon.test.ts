import { describe, it, expect } from '@jest/globals';
import { createCodec, type ReedSolomonCodec } from '../../src/codec/reed-solomon.js';
import { combinations } from '../helpers/combinations.js';
import { mulberry32 } from '../helpers/seeded-random.js';

function randomShards(rand: () => number, count: number, length: number): Uint8Array[] {
  return Array.from({ length: count }, () => {
    const shard = new Uint8Array(length);
    for (let i = 0; i < length; i++) shard[i] = Math.floor(rand() * 256);
    return shard;
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

/** Encodes, wipes `lost`, reconstructs, and returns the indexes whose bytes came back wrong. */
function roundTrip(codec: ReedSolomonCodec, data: Uint8Array[], lost: readonly number[], rand: () => number): number[] {
  const k = codec.dataShardCount;
  const m = codec.parityShardCount;
  const parity = Array.from({ length: m }, () => new Uint8Array(data[0].length));
  codec.encode(data, parity);
  const original = [...data, ...parity];
  const shards = original.map((s) => s.slice());
  const present = shards.map(() => true);
  for (const i of lost) {
    // Garbage, not zeros, so a kernel that accumulates instead of overwriting is caught.
    for (let j = 0; j < shards[i].length; j++) shards[i][j] = Math.floor(rand() * 256);
    present[i] = false;
  }
  codec.reconstruct(shards, present);
  const wrong: number[] = [];
  for (let i = 0; i < k + m; i++) if (!sameBytes(shards[i], original[i])) wrong.push(i);
  return wrong;
}

describe.each(['js', 'wasm-simd'] as const)('Reed-Solomon with the %s kernel', (kernel) => {
  it('uses the requested kernel', () => {
    expect(createCodec(3, 2, { kernel }).kernelName).toBe(kernel);
  });

  it('recovers every erasure pattern of 1..m shards for k in 1..6, m in 1..4', () => {
    const rand = mulberry32(1234);
    const failures: string[] = [];
    let patterns = 0;
    for (let k = 1; k <= 6; k++) {
      for (let m = 1; m <= 4; m++) {
        const codec = createCodec(k, m, { kernel });
        for (const length of [37, 64]) {
          const data = randomShards(rand, k, length);
          for (let lostCount = 1; lostCount <= m; lostCount++) {
            for (const lost of combinations(k + m, lostCount)) {
              patterns++;
              const wrong = roundTrip(codec, data, lost, rand);
              if (wrong.length > 0) failures.push(`k=${k} m=${m} len=${length} lost=[${lost}] wrong=[${wrong}]`);
            }
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(patterns).toBe(2 * 1493); // sum over k, m of C(k+m, 1..m), for 2 lengths
  });

  it('recovers random patterns for larger k + m (up to 20)', () => {
    const rand = mulberry32(555);
    for (let trial = 0; trial < 40; trial++) {
      const k = 1 + Math.floor(rand() * 16);
      const m = 1 + Math.floor(rand() * Math.min(8, 20 - k));
      const length = 1 + Math.floor(rand() * 3000);
      const codec = createCodec(k, m, { kernel });
      const shuffled = Array.from({ length: k + m }, (_, i) => i).sort(() => rand() - 0.5);
      const lost = shuffled.slice(0, 1 + Math.floor(rand() * m));
      expect({ k, m, length, lost, wrong: roundTrip(codec, randomShards(rand, k, length), lost, rand) }).toEqual({ k, m, length, lost, wrong: [] });
    }
  });

  it('recovers k=200, m=55 with 55 shards lost', () => {
    const rand = mulberry32(200);
    const codec = createCodec(200, 55, { kernel });
    const lost = Array.from({ length: 255 }, (_, i) => i).sort(() => rand() - 0.5).slice(0, 55);
    expect(roundTrip(codec, randomShards(rand, 200, 100), lost, rand)).toEqual([]);
  });

  it('rebuilds only the wanted shards and leaves other missing ones alone', () => {
    const rand = mulberry32(9);
    const codec = createCodec(4, 3, { kernel });
    const data = randomShards(rand, 4, 50);
    const parity = randomShards(rand, 3, 50);
    codec.encode(data, parity);
    const original = [...data, ...parity];
    const shards = original.map((s) => s.slice());
    const present = [true, false, true, false, true, false, true];
    for (const i of [1, 3, 5]) shards[i].fill(0x77);
    codec.reconstruct(shards, present, [5, 1]);
    expect(shards[1]).toEqual(original[1]);
    expect(shards[5]).toEqual(original[5]);
    expect(shards[3]).toEqual(new Uint8Array(50).fill(0x77));
    codec.reconstruct(shards, present, []);
    expect(shards[3]).toEqual(new Uint8Array(50).fill(0x77));
  });

  it('gives the same answer when a cached decode matrix is reused, and after cache eviction', () => {
    const rand = mulberry32(77);
    const codec = createCodec(5, 3, { kernel });
    const patterns = combinations(8, 2).concat(combinations(8, 3)); // 84, more than the cache holds
    for (let round = 0; round < 2; round++) {
      for (const lost of patterns) {
        expect(roundTrip(codec, randomShards(rand, 5, 33), lost, rand)).toEqual([]);
      }
    }
  });

  it('handles zero-length shards', () => {
    const codec = createCodec(3, 2, { kernel });
    const shards = Array.from({ length: 5 }, () => new Uint8Array(0));
    codec.encode(shards.slice(0, 3), shards.slice(3));
    codec.reconstruct(shards, [false, true, true, false, true]);
  });
});

describe('Reed-Solomon argument checks', () => {
  const codec = createCodec(3, 2, { kernel: 'js' });
  const shards = (lengths: number[]): Uint8Array[] => lengths.map((n) => new Uint8Array(n));

  it('rejects bad k and m with a RangeError', () => {
    expect(() => createCodec(0, 2)).toThrow(RangeError);
    expect(() => createCodec(2, 0)).toThrow(RangeError);
    expect(() => createCodec(250, 6)).toThrow(/k \+ m must be <= 255/);
    expect(() => createCodec(1.5, 2)).toThrow(RangeError);
  });

  it('rejects an unknown kernel name', () => {
    expect(() => createCodec(2, 1, { kernel: 'gpu' as 'js' })).toThrow(/unknown kernel/);
  });

  it('picks wasm-simd by default when it loads', () => {
    expect(createCodec(2, 1).kernelName).toBe('wasm-simd');
  });

  it('refuses to reconstruct with fewer than k shards present', () => {
    expect(() => codec.reconstruct(shards([8, 8, 8, 8, 8]), [true, false, false, true, false])).toThrow(/only 2 of 5 shards present, need at least k=3/);
  });

  it('refuses to rebuild a shard that is present', () => {
    expect(() => codec.reconstruct(shards([8, 8, 8, 8, 8]), [true, true, true, false, false], [1])).toThrow(/marked present/);
    expect(() => codec.reconstruct(shards([8, 8, 8, 8, 8]), [true, true, true, false, false], [7])).toThrow(/outside 0..4/);
    expect(() => codec.reconstruct(shards([8, 8, 8, 8, 8]), [true, true, true, false, false], [3, 3])).toThrow(/listed twice/);
  });

  it('rejects mismatched shard lengths and counts', () => {
    expect(() => codec.encode(shards([8, 8, 9]), shards([8, 8]))).toThrow(/same length/);
    expect(() => codec.encode(shards([8, 8, 8]), shards([8, 7]))).toThrow(/same length/);
    expect(() => codec.encode(shards([8, 8]), shards([8, 8]))).toThrow(/needs 3 data shards/);
    expect(() => codec.encode(shards([8, 8, 8]), shards([8]))).toThrow(/needs 2 parity shards/);
    expect(() => codec.reconstruct(shards([8, 8, 8, 8]), [true, true, true, true])).toThrow(/needs 5 shards/);
    expect(() => codec.reconstruct(shards([8, 8, 8, 8, 8]), [true, true, true, true])).toThrow(/present must have 5/);
    expect(() => codec.reconstruct(shards([8, 8, 8, 8, 6]), [true, true, true, true, false])).toThrow(/same length/);
  });
});
