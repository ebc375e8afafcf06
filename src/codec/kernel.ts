/**
 * The one primitive every Reed-Solomon operation reduces to: a matrix of GF(2^8) coefficients
 * applied to byte regions. Encode, reconstruct and re-encode all call it, so a faster backend
 * speeds up everything at once.
 */

/** outputs[r] = XOR_c coefficients[r*inputs.length + c] * inputs[c], over the first `lengthBytes` bytes of each buffer. Outputs are overwritten, not accumulated. */
export interface CodingKernel {
  readonly name: string; // 'js' | 'wasm-simd'
  multiplyRegions(coefficients: Uint8Array, inputs: readonly Uint8Array[], outputs: readonly Uint8Array[], lengthBytes: number): void;
}

/** Shared argument checks, so both kernels fail the same way on caller mistakes. */
export function assertRegionArgs(
  coefficients: Uint8Array,
  inputs: readonly Uint8Array[],
  outputs: readonly Uint8Array[],
  lengthBytes: number,
): void {
  if (!Number.isInteger(lengthBytes) || lengthBytes < 0) {
    throw new RangeError(`lengthBytes must be a non-negative integer, got ${lengthBytes}`);
  }
  if (inputs.length === 0) throw new RangeError('multiplyRegions needs at least one input');
  if (coefficients.length !== inputs.length * outputs.length) {
    throw new RangeError(
      `coefficient matrix has ${coefficients.length} entries, expected ${outputs.length} outputs x ${inputs.length} inputs`,
    );
  }
  for (let i = 0; i < inputs.length; i++) {
    if (inputs[i].length < lengthBytes) throw new RangeError(`input ${i} has ${inputs[i].length} bytes, needs ${lengthBytes}`);
  }
  for (let i = 0; i < outputs.length; i++) {
    if (outputs[i].length < lengthBytes) throw new RangeError(`output ${i} has ${outputs[i].length} bytes, needs ${lengthBytes}`);
    for (const input of inputs) {
      if (overlaps(outputs[i], input, lengthBytes)) throw new RangeError(`output ${i} overlaps an input region`);
    }
  }
}

/** Aliasing would make results depend on the order bytes are processed in, which differs per kernel. */
function overlaps(a: Uint8Array, b: Uint8Array, length: number): boolean {
  if (length === 0 || a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + length && b.byteOffset < a.byteOffset + length;
}
