/**
 * Arithmetic in GF(2^8) with the primitive polynomial x^8+x^4+x^3+x^2+1 (0x11d) and generator 2.
 * These constants are part of the on-disk format: changing them makes every stored parity block
 * unreadable, so the known-answer test pins them.
 */

export const GF_POLYNOMIAL = 0x11d;

/** GF_EXP is doubled in length so gfMul can index log(a)+log(b) without a modulo. */
const GF_EXP = new Uint8Array(512);
const GF_LOG = new Uint8Array(256);

/** Products of every pair, index a*256+b: the JS kernel reads one 256-byte row per coefficient. */
export const GF_MUL_TABLE = new Uint8Array(65536);

function buildTables(): void {
  let x = 1;
  for (let i = 0; i < 255; i++) {
    GF_EXP[i] = x;
    GF_LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= GF_POLYNOMIAL;
  }
  if (x !== 1) throw new Error('gf256: 2 is not a generator of the multiplicative group');
  for (let i = 255; i < 512; i++) GF_EXP[i] = GF_EXP[i - 255];
  for (let a = 1; a < 256; a++) {
    const logA = GF_LOG[a];
    const row = a * 256;
    for (let b = 1; b < 256; b++) GF_MUL_TABLE[row + b] = GF_EXP[logA + GF_LOG[b]];
  }
}
buildTables();

function assertElement(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 255) {
    throw new RangeError(`gf256: ${what} must be an integer in 0..255, got ${value}`);
  }
}

export function gfMul(a: number, b: number): number {
  assertElement(a, 'a');
  assertElement(b, 'b');
  return GF_MUL_TABLE[a * 256 + b];
}

export function gfInv(a: number): number {
  assertElement(a, 'a');
  if (a === 0) throw new RangeError('gf256: 0 has no inverse');
  return GF_EXP[255 - GF_LOG[a]];
}

export function gfDiv(a: number, b: number): number {
  assertElement(a, 'a');
  assertElement(b, 'b');
  if (b === 0) throw new RangeError('gf256: division by 0');
  if (a === 0) return 0;
  return GF_EXP[GF_LOG[a] + 255 - GF_LOG[b]];
}

/** 2^n for any integer n >= 0; exposed for tests and table builders. */
export function gfExp(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`gf256: exponent must be a non-negative integer, got ${n}`);
  return GF_EXP[n % 255];
}
