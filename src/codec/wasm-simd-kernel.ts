/**
 * WebAssembly SIMD backend of CodingKernel. Shards live in JS memory, so each call copies a chunk
 * of every input into linear memory, runs the generated `mulG` functions, and copies the outputs
 * back. Chunks are sized so inputs plus outputs stay within the per-core L2 cache.
 */
import { GF_MUL_TABLE } from './gf256.js';
import { assertRegionArgs, type CodingKernel } from './kernel.js';
import { buildSimdModuleBytes, MAX_GROUP, UNROLL } from './wasm-simd-module.js';

type MulFunction = (
  inPtr: number, inStride: number, inCount: number, tblPtr: number, tblStride: number,
  outPtr: number, outStride: number, len: number,
) => void;

/**
 * The slice of the WebAssembly JS API we use, typed here because the project compiles without the
 * DOM lib, where TypeScript keeps the WebAssembly declarations.
 */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}

const PAGE_BYTES = 65536;
/** Bytes the generated loop consumes per iteration; regions are padded to a multiple of it. */
const STEP = 16 * UNROLL;
/** Bytes of input plus output kept in wasm memory per chunk; fits comfortably in a 1 MiB L2. */
const CHUNK_BUDGET_BYTES = 384 * 1024;
const MIN_CHUNK_BYTES = 1024;
const MAX_CHUNK_BYTES = 64 * 1024;

interface SimdInstance {
  memory: WasmMemory;
  /** mul[g] computes g outputs per pass; index 0 unused. */
  mul: MulFunction[];
}

let loadError: string | null = null;
let shared: CodingKernel | null | undefined;

/** Why the SIMD kernel is unavailable, or null if it loaded (or was never asked for). */
export function wasmSimdLoadError(): string | null {
  return loadError;
}

/** The process-wide SIMD kernel, or null when this runtime cannot run WebAssembly SIMD. */
export function createWasmSimdKernel(): CodingKernel | null {
  if (shared === undefined) {
    const instance = instantiate();
    shared = instance === null ? null : new WasmSimdKernel(instance);
  }
  return shared;
}

function instantiate(): SimdInstance | null {
  try {
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    if (typeof wasm !== 'object') throw new Error('WebAssembly is not available');
    const bytes = buildSimdModuleBytes(1);
    if (!wasm.validate(bytes)) throw new Error('WebAssembly SIMD is not supported by this runtime');
    // Synchronous compile keeps createCodec synchronous; Node has no main-thread size limit.
    const instance = new wasm.Instance(new wasm.Module(bytes), {});
    const memory = instance.exports.memory;
    if (!isMemory(memory)) throw new Error('generated module does not export its memory');
    const mul: MulFunction[] = [];
    for (let g = 1; g <= MAX_GROUP; g++) {
      const fn = instance.exports[`mul${g}`];
      if (typeof fn !== 'function') throw new Error(`generated module lacks mul${g}`);
      mul[g] = fn as MulFunction;
    }
    return { memory, mul };
  } catch (error) {
    loadError = error instanceof Error ? error.message : String(error);
    return null;
  }
}

function isMemory(value: unknown): value is WasmMemory {
  return typeof value === 'object' && value !== null && 'buffer' in value && 'grow' in value;
}

class WasmSimdKernel implements CodingKernel {
  readonly name = 'wasm-simd';
  private view: Uint8Array;
  /** The coefficient matrix whose tables are at offset 0, so repeated calls skip rebuilding them. */
  private tableKey: Uint8Array = new Uint8Array(0);
  private tableInputs = 0;

  constructor(private readonly instance: SimdInstance) {
    this.view = new Uint8Array(instance.memory.buffer);
  }

  multiplyRegions(coefficients: Uint8Array, inputs: readonly Uint8Array[], outputs: readonly Uint8Array[], lengthBytes: number): void {
    assertRegionArgs(coefficients, inputs, outputs, lengthBytes);
    const nIn = inputs.length;
    const nOut = outputs.length;
    if (lengthBytes === 0 || nOut === 0) return;

    const tableBytes = nOut * nIn * 32;
    const chunk = Math.min(chunkBytes(nIn + nOut), roundUpStep(lengthBytes));
    const inBase = roundUp16(tableBytes);
    const outBase = inBase + nIn * chunk;
    this.ensureMemory(outBase + nOut * chunk);
    this.loadTables(coefficients, nIn, nOut);
    const mem = this.view;
    const groups = splitGroups(nOut);

    for (let pos = 0; pos < lengthBytes; pos += chunk) {
      const n = Math.min(chunk, lengthBytes - pos);
      for (let c = 0; c < nIn; c++) mem.set(inputs[c].subarray(pos, pos + n), inBase + c * chunk);
      // Bytes past n in the last chunk are stale, but lanes are independent and never copied out.
      const padded = roundUpStep(n);
      let r0 = 0;
      for (const size of groups) {
        this.instance.mul[size](inBase, chunk, nIn, r0 * 32, nOut * 32, outBase + r0 * chunk, chunk, padded);
        r0 += size;
      }
      for (let r = 0; r < nOut; r++) outputs[r].set(mem.subarray(outBase + r * chunk, outBase + r * chunk + n), pos);
    }
  }

  private ensureMemory(bytes: number): void {
    const have = this.instance.memory.buffer.byteLength;
    if (bytes > have) this.instance.memory.grow(Math.ceil((bytes - have) / PAGE_BYTES));
    // grow() detaches the old ArrayBuffer, so the view must be rebuilt after it.
    if (this.view.byteLength !== this.instance.memory.buffer.byteLength) this.view = new Uint8Array(this.instance.memory.buffer);
  }

  /** Table for (output r, input c) at (c*nOut + r)*32: low-nibble products, then high-nibble. */
  private loadTables(coefficients: Uint8Array, nIn: number, nOut: number): void {
    if (this.tableInputs === nIn && sameBytes(this.tableKey, coefficients)) return;
    const mem = this.view;
    for (let r = 0; r < nOut; r++) {
      for (let c = 0; c < nIn; c++) {
        const row = coefficients[r * nIn + c] * 256;
        const base = (c * nOut + r) * 32;
        for (let n = 0; n < 16; n++) {
          mem[base + n] = GF_MUL_TABLE[row + n];
          mem[base + 16 + n] = GF_MUL_TABLE[row + (n << 4)];
        }
      }
    }
    this.tableKey = coefficients.slice();
    this.tableInputs = nIn;
  }
}

/** A multiple of STEP, so the padded tail of a chunk still fits in its region. */
function chunkBytes(regions: number): number {
  const fit = Math.floor(CHUNK_BUDGET_BYTES / regions / STEP) * STEP;
  return Math.max(MIN_CHUNK_BYTES, Math.min(MAX_CHUNK_BYTES, fit));
}

/** Near-equal groups (9 outputs -> 5+4, not 8+1) so no pass runs with a nearly empty group. */
function splitGroups(outputs: number): number[] {
  const count = Math.ceil(outputs / MAX_GROUP);
  const groups: number[] = [];
  for (let i = 0; i < count; i++) groups.push(Math.floor((outputs + i) / count));
  return groups;
}

function roundUp16(n: number): number {
  return (n + 15) & ~15;
}

function roundUpStep(n: number): number {
  return Math.ceil(n / STEP) * STEP;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
