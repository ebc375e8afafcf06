/**
 * Known-answer vectors: these bytes are the on-disk format. If this test fails, parity written by
 * earlier versions can no longer be decoded; do not "fix" it by updating the hex.
 */
import { describe, it, expect } from '@jest/globals';
import { gfMul } from '../../src/codec/gf256.js';
import { createCodec } from '../../src/codec/reed-solomon.js';

const K = 4;
const M = 2;
const LENGTH = 16;
const EXPECTED_PARITY_HEX = ['40ad78f05115799af6b219ab30762e7b', '1df94ba4e23d78b26a9a2aff8322119e'];

function knownData(): Uint8Array[] {
  return Array.from({ length: K }, (_, c) => Uint8Array.from({ length: LENGTH }, (_, i) => (c * 31 + i * 7) & 0xff));
}

/** Brute-force inverse, deliberately not using the codec's own log/exp tables. */
function slowInverse(x: number): number {
  for (let y = 1; y < 256; y++) if (gfMul(x, y) === 1) return y;
  throw new Error(`no inverse for ${x}`);
}

describe('known-answer vector, k=4 m=2, shard c byte i = (c*31 + i*7) & 0xff', () => {
  it.each(['js', 'wasm-simd'] as const)('%s kernel produces the pinned parity bytes', (kernel) => {
    const parity = [new Uint8Array(LENGTH), new Uint8Array(LENGTH)];
    createCodec(K, M, { kernel }).encode(knownData(), parity);
    expect(parity.map((p) => Buffer.from(p).toString('hex'))).toEqual(EXPECTED_PARITY_HEX);
  });

  it('follows the Cauchy definition 1/((k+r) XOR c), checked by hand', () => {
    // Parity 0, byte 0: data bytes are 0, 31, 62, 93 and coefficients 1/4, 1/5, 1/6, 1/7 = 71, 167, 122, 186:
    //   71*0 ^ 167*31 ^ 122*62 ^ 186*93 = 0x00 ^ 0xa1 ^ 0xfe ^ 0x1f = 0x40.
    expect([4, 5, 6, 7].map(slowInverse)).toEqual([71, 167, 122, 186]);
    expect([gfMul(167, 31), gfMul(122, 62), gfMul(186, 93)]).toEqual([0xa1, 0xfe, 0x1f]);
    expect(0xa1 ^ 0xfe ^ 0x1f).toBe(0x40);
    // Parity 1, byte 1: coefficients 1/5, 1/4, 1/7, 1/6; data bytes 7, 38, 69, 100 -> 0xf9.
    const data = knownData();
    let byte = 0;
    for (let c = 0; c < K; c++) byte ^= gfMul(slowInverse((K + 1) ^ c), data[c][1]);
    expect(byte).toBe(0xf9);
    expect(EXPECTED_PARITY_HEX[0].slice(0, 2)).toBe('40');
    expect(EXPECTED_PARITY_HEX[1].slice(2, 4)).toBe('f9');
  });

  it('decodes the pinned parity back to the data', () => {
    const data = knownData();
    const shards = [...data.map(() => new Uint8Array(LENGTH)), ...EXPECTED_PARITY_HEX.map((h) => Uint8Array.from(Buffer.from(h, 'hex')))];
    shards[2].set(data[2]);
    shards[3].set(data[3]);
    createCodec(K, M).reconstruct(shards, [false, false, true, true, true, true]);
    expect(shards.slice(0, K)).toEqual(data);
  });
});
