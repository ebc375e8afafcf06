/**
 * Reference kernel in plain TypeScript. It is the definition the SIMD kernel is tested against,
 * and the fallback where WebAssembly SIMD is missing, so it favours obviously-correct code and
 * only takes the 32-bit word path where input and output can both be aligned.
 */
import { GF_MUL_TABLE } from './gf256.js';
import { assertRegionArgs, type CodingKernel } from './kernel.js';

export function createJsKernel(): CodingKernel {
  return {
    name: 'js',
    multiplyRegions(coefficients, inputs, outputs, lengthBytes) {
      assertRegionArgs(coefficients, inputs, outputs, lengthBytes);
      if (lengthBytes === 0) return;
      const k = inputs.length;
      for (let r = 0; r < outputs.length; r++) {
        const out = outputs[r];
        for (let c = 0; c < k; c++) {
          mulRegion(coefficients[r * k + c], inputs[c], out, lengthBytes, c === 0);
        }
      }
    },
  };
}

/** out = coef*input (overwrite) or out ^= coef*input, over `length` bytes. */
function mulRegion(coef: number, input: Uint8Array, out: Uint8Array, length: number, overwrite: boolean): void {
  if (coef === 0) {
    if (overwrite) out.fill(0, 0, length);
    return;
  }
  if (coef === 1 && overwrite) {
    out.set(input.subarray(0, length));
    return;
  }
  const table = GF_MUL_TABLE.subarray(coef * 256, coef * 256 + 256);
  // Word access needs both regions on the same 4-byte phase; otherwise bytes only.
  const phase = (4 - (out.byteOffset & 3)) & 3;
  const canUseWords = (input.byteOffset & 3) === (out.byteOffset & 3) && length >= phase + 4;
  const head = canUseWords ? phase : length;
  mulBytes(table, input, out, 0, head, overwrite);
  if (!canUseWords) return;
  const words = (length - head) >>> 2;
  const in32 = new Uint32Array(input.buffer, input.byteOffset + head, words);
  const out32 = new Uint32Array(out.buffer, out.byteOffset + head, words);
  // Bytes are independent lanes, so the result is the same on either endianness.
  if (overwrite) {
    for (let i = 0; i < words; i++) {
      const w = in32[i];
      out32[i] = table[w & 255] | (table[(w >>> 8) & 255] << 8) | (table[(w >>> 16) & 255] << 16) | (table[w >>> 24] << 24);
    }
  } else {
    for (let i = 0; i < words; i++) {
      const w = in32[i];
      out32[i] ^= table[w & 255] | (table[(w >>> 8) & 255] << 8) | (table[(w >>> 16) & 255] << 16) | (table[w >>> 24] << 24);
    }
  }
  mulBytes(table, input, out, head + words * 4, length, overwrite);
}

function mulBytes(table: Uint8Array, input: Uint8Array, out: Uint8Array, from: number, to: number, overwrite: boolean): void {
  if (overwrite) {
    for (let i = from; i < to; i++) out[i] = table[input[i]];
  } else {
    for (let i = from; i < to; i++) out[i] ^= table[input[i]];
  }
}
