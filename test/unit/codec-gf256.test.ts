import { describe, it, expect } from '@jest/globals';
import { GF_MUL_TABLE, gfDiv, gfExp, gfInv, gfMul } from '../../src/codec/gf256.js';
import { mulberry32 } from '../helpers/seeded-random.js';

/** Carry-less multiply reduced by 0x11d, written independently of the table code under test. */
function slowMul(a: number, b: number): number {
  let product = 0;
  let x = a;
  for (let bit = 0; bit < 8; bit++) {
    if ((b >> bit) & 1) product ^= x;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  return product;
}

describe('GF(2^8) with polynomial 0x11d', () => {
  it('has a 65536-entry table that matches slow multiplication for every pair', () => {
    expect(GF_MUL_TABLE).toBeInstanceOf(Uint8Array);
    expect(GF_MUL_TABLE.length).toBe(65536);
    let mismatches = 0;
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        const expected = slowMul(a, b);
        if (GF_MUL_TABLE[a * 256 + b] !== expected || gfMul(a, b) !== expected) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
  });

  it('matches hand-computed products', () => {
    expect(gfMul(2, 0x80)).toBe(0x1d); // x * x^7 = x^8 = x^4+x^3+x^2+1
    expect(gfMul(3, 7)).toBe(9); // (x+1)(x^2+x+1) = x^3+1
    expect(gfMul(0x53, 0xca)).toBe(slowMul(0x53, 0xca));
    expect(gfMul(0, 0xff)).toBe(0);
    expect(gfMul(1, 0xab)).toBe(0xab);
  });

  it('has 2 as a generator: its powers visit all 255 nonzero elements', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 255; i++) seen.add(gfExp(i));
    expect(seen.size).toBe(255);
    expect(seen.has(0)).toBe(false);
    expect(gfExp(255)).toBe(1);
    expect(gfExp(8)).toBe(0x1d);
  });

  it('has an inverse for all 255 nonzero elements', () => {
    for (let a = 1; a < 256; a++) {
      const inv = gfInv(a);
      expect(slowMul(a, inv)).toBe(1);
      expect(gfInv(inv)).toBe(a);
    }
  });

  it('divides consistently with multiplication', () => {
    for (let a = 0; a < 256; a++) {
      for (let b = 1; b < 256; b += 7) {
        expect(slowMul(gfDiv(a, b), b)).toBe(a);
      }
    }
  });

  it('satisfies field axioms on random triples', () => {
    const rand = mulberry32(42);
    const byte = (): number => Math.floor(rand() * 256);
    for (let i = 0; i < 2000; i++) {
      const a = byte();
      const b = byte();
      const c = byte();
      expect(gfMul(a, b)).toBe(gfMul(b, a));
      expect(gfMul(gfMul(a, b), c)).toBe(gfMul(a, gfMul(b, c)));
      expect(gfMul(a, b ^ c)).toBe(gfMul(a, b) ^ gfMul(a, c));
    }
  });

  it('rejects 0 inverses, division by 0 and non-bytes', () => {
    expect(() => gfInv(0)).toThrow(/no inverse/);
    expect(() => gfDiv(5, 0)).toThrow(/division by 0/);
    expect(() => gfMul(256, 1)).toThrow(RangeError);
    expect(() => gfMul(1, -1)).toThrow(RangeError);
    expect(() => gfMul(1.5, 1)).toThrow(RangeError);
    expect(() => gfExp(-1)).toThrow(RangeError);
  });
});
