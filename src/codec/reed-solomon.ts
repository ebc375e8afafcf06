/**
 * Systematic Reed-Solomon codec over GF(2^8) with a Cauchy parity matrix. Every operation is one
 * multiplyRegions call: encode applies the parity matrix; reconstruct applies, to k surviving
 * shards, the rows of generator x inverse(surviving rows) for the shards being rebuilt, so data
 * and parity are rebuilt in the same single pass over the survivors.
 */
import { createJsKernel } from './js-kernel.js';
import type { CodingKernel } from './kernel.js';
import { assertShardCounts, cauchyParityMatrix, generatorRow, invertMatrix, multiplyMatrices } from './matrix.js';
import { createWasmSimdKernel, wasmSimdLoadError } from './wasm-simd-kernel.js';

export interface ReedSolomonCodec {
  readonly dataShardCount: number;   // k
  readonly parityShardCount: number; // m
  readonly kernelName: string;
  /** Fills parityShards (m buffers) from dataShards (k buffers); all the same length. */
  encode(dataShards: readonly Uint8Array[], parityShards: readonly Uint8Array[]): void;
  /** shards has k+m buffers of equal length; present[i] tells which hold valid bytes. Recomputes, in place, the shards whose index is in `wanted` (default: every missing shard). Throws an Error with a clear message if fewer than k shards are present or a wanted shard is present. */
  reconstruct(shards: readonly Uint8Array[], present: readonly boolean[], wanted?: readonly number[]): void;
}

export type KernelChoice = 'js' | 'wasm-simd' | 'auto';

export interface CodecOptions {
  kernel?: KernelChoice;
}

/**
 * Decode coefficients per (k, m, survivors, wanted). A file's data sets usually share one erasure
 * pattern, so a few entries cover it; the cache is module-wide so it also helps callers that
 * create a codec per data set. Entries are never handed out to callers, so sharing them is safe.
 * Map iteration order is insertion order, which makes it an LRU when hits are re-inserted.
 */
const DECODE_CACHE_ENTRIES = 32;
const decodeCache = new Map<string, Uint8Array>();

export function createCodec(k: number, m: number, options: CodecOptions = {}): ReedSolomonCodec {
  assertShardCounts(k, m);
  return new Codec(k, m, selectKernel(options.kernel ?? 'auto'));
}

export function selectKernel(choice: KernelChoice): CodingKernel {
  // Options may come from a config file or the command line, so check beyond the type.
  if (choice !== 'js' && choice !== 'wasm-simd' && choice !== 'auto') {
    throw new RangeError(`unknown kernel '${String(choice)}' (expected js, wasm-simd or auto)`);
  }
  if (choice === 'js') return createJsKernel();
  const simd = createWasmSimdKernel();
  if (simd !== null) return simd;
  if (choice === 'wasm-simd') throw new Error(`wasm-simd kernel unavailable: ${wasmSimdLoadError() ?? 'unknown reason'}`);
  return createJsKernel();
}

class Codec implements ReedSolomonCodec {
  readonly kernelName: string;
  private readonly parity: Uint8Array;

  constructor(readonly dataShardCount: number, readonly parityShardCount: number, private readonly kernel: CodingKernel) {
    this.kernelName = kernel.name;
    this.parity = cauchyParityMatrix(dataShardCount, parityShardCount);
  }

  encode(dataShards: readonly Uint8Array[], parityShards: readonly Uint8Array[]): void {
    const k = this.dataShardCount;
    const m = this.parityShardCount;
    if (dataShards.length !== k) throw new RangeError(`encode needs ${k} data shards, got ${dataShards.length}`);
    if (parityShards.length !== m) throw new RangeError(`encode needs ${m} parity shards, got ${parityShards.length}`);
    const length = commonLength([...dataShards, ...parityShards]);
    this.kernel.multiplyRegions(this.parity, dataShards, parityShards, length);
  }

  reconstruct(shards: readonly Uint8Array[], present: readonly boolean[], wanted?: readonly number[]): void {
    const k = this.dataShardCount;
    const total = k + this.parityShardCount;
    if (shards.length !== total) throw new RangeError(`reconstruct needs ${total} shards (k=${k} + m=${this.parityShardCount}), got ${shards.length}`);
    if (present.length !== total) throw new RangeError(`present must have ${total} entries, got ${present.length}`);
    const length = commonLength(shards);

    const survivors: number[] = [];
    for (let i = 0; i < total && survivors.length < k; i++) if (present[i]) survivors.push(i);
    const presentCount = present.filter(Boolean).length;
    if (presentCount < k) {
      throw new Error(`cannot reconstruct: only ${presentCount} of ${total} shards present, need at least k=${k}`);
    }

    const targets = this.checkWanted(present, wanted);
    if (targets.length === 0) return;
    const coefficients = this.decodeCoefficients(survivors, targets);
    this.kernel.multiplyRegions(
      coefficients,
      survivors.map((i) => shards[i]),
      targets.map((i) => shards[i]),
      length,
    );
  }

  private checkWanted(present: readonly boolean[], wanted: readonly number[] | undefined): number[] {
    const total = present.length;
    if (wanted === undefined) {
      const missing: number[] = [];
      for (let i = 0; i < total; i++) if (!present[i]) missing.push(i);
      return missing;
    }
    const seen = new Set<number>();
    for (const index of wanted) {
      if (!Number.isInteger(index) || index < 0 || index >= total) throw new RangeError(`wanted shard index ${index} is outside 0..${total - 1}`);
      if (present[index]) throw new Error(`wanted shard ${index} is marked present; only missing shards can be reconstructed`);
      if (seen.has(index)) throw new RangeError(`wanted shard ${index} is listed twice`);
      seen.add(index);
    }
    return [...wanted];
  }

  private decodeCoefficients(survivors: readonly number[], targets: readonly number[]): Uint8Array {
    const k = this.dataShardCount;
    const key = `${k}+${this.parityShardCount}:${survivors.join(',')}|${targets.join(',')}`;
    const cached = decodeCache.get(key);
    if (cached !== undefined) {
      decodeCache.delete(key);
      decodeCache.set(key, cached);
      return cached;
    }
    const sub = new Uint8Array(k * k);
    survivors.forEach((shard, row) => sub.set(generatorRow(k, this.parity, shard), row * k));
    // Cauchy submatrices are always invertible, so a throw here means a bug, not bad input.
    const inverse = invertMatrix(sub, k);
    const rows = new Uint8Array(targets.length * k);
    targets.forEach((shard, row) => rows.set(generatorRow(k, this.parity, shard), row * k));
    const coefficients = multiplyMatrices(rows, targets.length, k, inverse, k);

    decodeCache.set(key, coefficients);
    if (decodeCache.size > DECODE_CACHE_ENTRIES) {
      const oldest = decodeCache.keys().next();
      if (oldest.done !== true) decodeCache.delete(oldest.value);
    }
    return coefficients;
  }
}

function commonLength(buffers: readonly Uint8Array[]): number {
  const length = buffers[0].length;
  for (let i = 1; i < buffers.length; i++) {
    if (buffers[i].length !== length) throw new RangeError(`all shards must have the same length: shard 0 has ${length} bytes, shard ${i} has ${buffers[i].length}`);
  }
  return length;
}
