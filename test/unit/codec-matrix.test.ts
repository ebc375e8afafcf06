import { describe, it, expect } from '@jest/globals';
import { gfInv, gfMul } from '../../src/codec/gf256.js';
import {
  assertShardCounts, cauchyParityMatrix, generatorRow, invertMatrix, multiplyMatrices,
} from '../../src/codec/matrix.js';
import { combinations } from '../helpers/combinations.js';
import { mulberry32 } from '../helpers/seeded-random.js';

function identity(n: number): Uint8Array {
  const out = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}

describe('Cauchy parity matrix', () => {
  it('follows 1 / ((k + r) XOR c)', () => {
    const k = 5;
    const m = 3;
    const p = cauchyParityMatrix(k, m);
    expect(p.length).toBe(m * k);
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < k; c++) expect(gfMul(p[r * k + c], (k + r) ^ c)).toBe(1);
    }
    // k=4: row 0 column 0 is 1/(4 XOR 0) = 1/4.
    expect(cauchyParityMatrix(4, 2)[0]).toBe(gfInv(4));
  });

  it('gives an invertible k x k matrix for every choice of k shards (k=5, m=4)', () => {
    const k = 5;
    const m = 4;
    const parity = cauchyParityMatrix(k, m);
    for (const rows of combinations(k + m, k)) {
      const sub = new Uint8Array(k * k);
      rows.forEach((shard, i) => sub.set(generatorRow(k, parity, shard), i * k));
      const inv = invertMatrix(sub, k);
      expect(multiplyMatrices(sub, k, k, inv, k)).toEqual(identity(k));
    }
  });

  it('enforces 1 <= k, 1 <= m, k + m <= 255', () => {
    expect(() => assertShardCounts(0, 1)).toThrow(RangeError);
    expect(() => assertShardCounts(1, 0)).toThrow(RangeError);
    expect(() => assertShardCounts(200, 56)).toThrow(/k \+ m must be <= 255/);
    expect(() => assertShardCounts(2.5, 1)).toThrow(RangeError);
    expect(() => assertShardCounts(200, 55)).not.toThrow();
    expect(() => cauchyParityMatrix(254, 2)).toThrow(RangeError);
  });
});

describe('invertMatrix', () => {
  it('inverts random invertible matrices (A * A^-1 = A^-1 * A = I)', () => {
    const rand = mulberry32(7);
    let inverted = 0;
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rand() * 12);
      const a = new Uint8Array(n * n);
      for (let i = 0; i < a.length; i++) a[i] = Math.floor(rand() * 256);
      let inv: Uint8Array;
      try {
        inv = invertMatrix(a, n);
      } catch {
        continue;
      }
      inverted++;
      expect(multiplyMatrices(a, n, n, inv, n)).toEqual(identity(n));
      expect(multiplyMatrices(inv, n, n, a, n)).toEqual(identity(n));
    }
    expect(inverted).toBeGreaterThan(150);
  });

  it('needs row swaps when the leading entry is zero', () => {
    const a = Uint8Array.from([0, 3, 5, 0]);
    const inv = invertMatrix(a, 2);
    expect(multiplyMatrices(a, 2, 2, inv, 2)).toEqual(identity(2));
  });

  it('rejects singular and misshapen matrices', () => {
    expect(() => invertMatrix(Uint8Array.from([1, 2, 1, 2]), 2)).toThrow(/singular/);
    expect(() => invertMatrix(Uint8Array.from([2, 4, 1, 2]), 2)).toThrow(/singular/); // row0 = 2 * row1
    expect(() => invertMatrix(new Uint8Array(5), 2)).toThrow(RangeError);
    expect(() => multiplyMatrices(new Uint8Array(4), 2, 2, new Uint8Array(3), 2)).toThrow(RangeError);
  });
});
