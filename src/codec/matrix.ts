/**
 * Pure GF(2^8) matrix helpers for the systematic Cauchy Reed-Solomon code. Matrices are row-major
 * Uint8Arrays: these are tiny (at most 255x255) and built once per erasure pattern, so clarity
 * matters more than speed here.
 */
import { GF_MUL_TABLE, gfInv } from './gf256.js';

/** Largest k+m: x_r = k+r and y_c = c must stay distinct elements of the field's 256. */
export const MAX_TOTAL_SHARDS = 255;

export function assertShardCounts(k: number, m: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`data shard count k must be an integer >= 1, got ${k}`);
  if (!Number.isInteger(m) || m < 1) throw new RangeError(`parity shard count m must be an integer >= 1, got ${m}`);
  if (k + m > MAX_TOTAL_SHARDS) {
    throw new RangeError(`k + m must be <= ${MAX_TOTAL_SHARDS} for GF(2^8), got k=${k} m=${m} (${k + m})`);
  }
}

/**
 * Parity coefficients, m rows by k columns: row r, column c is 1 / (x_r XOR y_c) with x_r = k + r
 * and y_c = c. Every square submatrix of a Cauchy matrix is invertible, which is what makes any
 * k of the k+m shards enough to decode.
 */
export function cauchyParityMatrix(k: number, m: number): Uint8Array {
  assertShardCounts(k, m);
  const out = new Uint8Array(m * k);
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < k; c++) out[r * k + c] = gfInv((k + r) ^ c);
  }
  return out;
}

/** Row `shard` of the (k+m) x k generator: a unit row for data shards, a Cauchy row for parity. */
export function generatorRow(k: number, parity: Uint8Array, shard: number): Uint8Array {
  if (shard < k) {
    const row = new Uint8Array(k);
    row[shard] = 1;
    return row;
  }
  const start = (shard - k) * k;
  if (start + k > parity.length) throw new RangeError(`shard index ${shard} is outside the generator`);
  return parity.slice(start, start + k);
}

/** a (rows x inner) times b (inner x cols). */
export function multiplyMatrices(a: Uint8Array, rows: number, inner: number, b: Uint8Array, cols: number): Uint8Array {
  if (a.length !== rows * inner || b.length !== inner * cols) {
    throw new RangeError(`matrix shapes do not match: ${a.length} != ${rows}x${inner} or ${b.length} != ${inner}x${cols}`);
  }
  const out = new Uint8Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let t = 0; t < inner; t++) {
      const rowOffset = a[i * inner + t] * 256;
      if (rowOffset === 0) continue;
      for (let j = 0; j < cols; j++) out[i * cols + j] ^= GF_MUL_TABLE[rowOffset + b[t * cols + j]];
    }
  }
  return out;
}

/** Inverse of an n x n matrix by Gauss-Jordan elimination; throws if it is singular. */
export function invertMatrix(matrix: Uint8Array, n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 1 || matrix.length !== n * n) {
    throw new RangeError(`invertMatrix needs an n x n matrix, got ${matrix.length} entries for n=${n}`);
  }
  const work = matrix.slice();
  const inv = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;

  for (let col = 0; col < n; col++) {
    let pivot = col;
    while (pivot < n && work[pivot * n + col] === 0) pivot++;
    if (pivot === n) throw new Error(`matrix is singular (no pivot in column ${col})`);
    if (pivot !== col) {
      swapRows(work, n, pivot, col);
      swapRows(inv, n, pivot, col);
    }
    const scale = gfInv(work[col * n + col]) * 256;
    scaleRow(work, n, col, scale);
    scaleRow(inv, n, col, scale);
    for (let row = 0; row < n; row++) {
      const factor = work[row * n + col];
      if (row === col || factor === 0) continue;
      addScaledRow(work, n, col, row, factor * 256);
      addScaledRow(inv, n, col, row, factor * 256);
    }
  }
  return inv;
}

function swapRows(m: Uint8Array, n: number, a: number, b: number): void {
  for (let j = 0; j < n; j++) {
    const t = m[a * n + j];
    m[a * n + j] = m[b * n + j];
    m[b * n + j] = t;
  }
}

function scaleRow(m: Uint8Array, n: number, row: number, tableRow: number): void {
  for (let j = 0; j < n; j++) m[row * n + j] = GF_MUL_TABLE[tableRow + m[row * n + j]];
}

/** m[dst] ^= factor * m[src], with factor given as its table row offset. */
function addScaledRow(m: Uint8Array, n: number, src: number, dst: number, tableRow: number): void {
  for (let j = 0; j < n; j++) m[dst * n + j] ^= GF_MUL_TABLE[tableRow + m[src * n + j]];
}
