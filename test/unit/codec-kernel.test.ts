import { describe, it, expect } from '@jest/globals';
import { gfMul } from '../../src/codec/gf256.js';
import { createJsKernel } from '../../src/codec/js-kernel.js';
import type { CodingKernel } from '../../src/codec/kernel.js';
import { createWasmSimdKernel, wasmSimdLoadError } from '../../src/codec/wasm-simd-kernel.js';
import { mulberry32 } from '../helpers/seeded-random.js';

function randomBytes(rand: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 4) {
    const word = Math.floor(rand() * 4294967296);
    for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (word >>> (8 * j)) & 0xff;
  }
  return out;
}

/** The kernel contract computed one byte at a time with gfMul: the definition both kernels must meet. */
function referenceMultiply(coefficients: Uint8Array, inputs: readonly Uint8Array[], outputCount: number, length: number): Uint8Array[] {
  const outputs: Uint8Array[] = [];
  for (let r = 0; r < outputCount; r++) {
    const out = new Uint8Array(length);
    for (let c = 0; c < inputs.length; c++) {
      const coef = coefficients[r * inputs.length + c];
      for (let i = 0; i < length; i++) out[i] ^= gfMul(coef, inputs[c][i]);
    }
    outputs.push(out);
  }
  return outputs;
}

/** A view `offset` bytes into a larger buffer, like a Buffer slice from Node's pool. */
function unalignedCopy(source: Uint8Array, offset: number, slack: number): Uint8Array {
  const backing = new Uint8Array(source.length + offset + slack).fill(0xee);
  backing.set(source, offset);
  return backing.subarray(offset, offset + source.length);
}

const simd = createWasmSimdKernel();
const js = createJsKernel();

describe('WebAssembly SIMD kernel', () => {
  it('loads on this Node version', () => {
    expect(wasmSimdLoadError()).toBeNull();
    expect(simd).not.toBeNull();
    expect(simd?.name).toBe('wasm-simd');
    expect(js.name).toBe('js');
  });
});

const kernels: Array<[string, CodingKernel]> = [['js', js]];
if (simd !== null) kernels.push(['wasm-simd', simd]);

describe.each(kernels)('%s kernel', (_name, kernel) => {
  it('matches the byte-at-a-time definition, including 0 and 1 coefficients and unaligned views', () => {
    const rand = mulberry32(99);
    for (const length of [0, 1, 3, 4, 5, 15, 16, 17, 31, 33, 257]) {
      for (let trial = 0; trial < 6; trial++) {
        const nIn = 1 + Math.floor(rand() * 6);
        const nOut = 1 + Math.floor(rand() * 5);
        const coefficients = randomBytes(rand, nIn * nOut);
        if (trial % 2 === 0) coefficients[0] = trial === 0 ? 0 : 1;
        const inputs = Array.from({ length: nIn }, (_, c) => unalignedCopy(randomBytes(rand, length), (c * 3 + trial) % 7, 5));
        const outputs = Array.from({ length: nOut }, (_, r) => unalignedCopy(randomBytes(rand, length), (r + trial) % 5, 3));
        kernel.multiplyRegions(coefficients, inputs, outputs, length);
        expect(outputs.map((o) => Array.from(o))).toEqual(referenceMultiply(coefficients, inputs, nOut, length).map((o) => Array.from(o)));
      }
    }
  });

  it('touches only the first lengthBytes bytes of each output', () => {
    const out = new Uint8Array(40).fill(0xaa);
    kernel.multiplyRegions(Uint8Array.from([3, 5]), [new Uint8Array(40).fill(1), new Uint8Array(40).fill(2)], [out], 21);
    expect(out[20]).toBe(gfMul(3, 1) ^ gfMul(5, 2));
    expect(Array.from(out.subarray(21))).toEqual(new Array<number>(19).fill(0xaa));
  });

  it('rejects bad arguments', () => {
    const a = new Uint8Array(16);
    const b = new Uint8Array(16);
    expect(() => kernel.multiplyRegions(new Uint8Array(3), [a], [b], 16)).toThrow(/coefficient matrix/);
    expect(() => kernel.multiplyRegions(new Uint8Array(1), [a], [b], 17)).toThrow(/needs 17/);
    expect(() => kernel.multiplyRegions(new Uint8Array(0), [], [], 0)).toThrow(/at least one input/);
    expect(() => kernel.multiplyRegions(new Uint8Array(1), [a], [b], -1)).toThrow(RangeError);
    expect(() => kernel.multiplyRegions(new Uint8Array(1), [a.subarray(0, 8)], [a.subarray(4, 12)], 8)).toThrow(/overlaps/);
  });
});

describe('js and wasm-simd kernels agree', () => {
  it('byte for byte on random inputs, many shapes and lengths, unaligned views', () => {
    if (simd === null) throw new Error(`SIMD kernel unavailable: ${wasmSimdLoadError()}`);
    const rand = mulberry32(2024);
    // 65537 and 150_001 span several wasm chunks for every shape below.
    const lengths = [0, 1, 2, 15, 16, 17, 63, 64, 65, 1000, 4096, 65536, 65537, 150_001];
    const shapes: Array<[number, number]> = [[1, 1], [4, 2], [3, 5], [10, 4], [6, 9], [17, 3], [2, 17], [40, 12]];
    for (const length of lengths) {
      for (const [nIn, nOut] of shapes) {
        if (length > 5000 && nIn * nOut > 40) continue;
        const coefficients = randomBytes(rand, nIn * nOut);
        const offset = Math.floor(rand() * 16);
        const inputs = Array.from({ length: nIn }, (_, c) => unalignedCopy(randomBytes(rand, length), (offset + c) % 16, 7));
        const viaJs = Array.from({ length: nOut }, () => new Uint8Array(length));
        const viaSimd = Array.from({ length: nOut }, (_, r) => unalignedCopy(new Uint8Array(length).fill(0x5a), (offset + 3 * r) % 16, 1));
        js.multiplyRegions(coefficients, inputs, viaJs, length);
        simd.multiplyRegions(coefficients, inputs, viaSimd, length);
        for (let r = 0; r < nOut; r++) {
          if (!Buffer.from(viaJs[r]).equals(Buffer.from(viaSimd[r]))) {
            throw new Error(`kernels differ: length ${length}, ${nIn} inputs, ${nOut} outputs, output ${r}`);
          }
        }
      }
    }
  });

  it('on Node Buffer slices at odd offsets', () => {
    if (simd === null) throw new Error(`SIMD kernel unavailable: ${wasmSimdLoadError()}`);
    const rand = mulberry32(5);
    const big = Buffer.from(randomBytes(rand, 5 * 1001 + 3));
    const inputs = [1, 1002, 2003, 3004].map((start) => big.subarray(start, start + 1000));
    const coefficients = randomBytes(rand, 4 * 3);
    const outJs = Buffer.alloc(3 * 1001 + 1);
    const outSimd = Buffer.alloc(3 * 1001 + 1);
    const slices = (b: Buffer): Buffer[] => [1, 1002, 2002].map((s) => b.subarray(s, s + 999));
    js.multiplyRegions(coefficients, inputs, slices(outJs), 999);
    simd.multiplyRegions(coefficients, inputs, slices(outSimd), 999);
    expect(outSimd.equals(outJs)).toBe(true);
    expect(outJs[0]).toBe(0);
  });
});
