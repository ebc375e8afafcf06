/**
 * A minimal WebAssembly binary writer: just the sections and opcodes the SIMD coding kernel uses.
 * We generate the module at load time because the project has no wasm build step, and about a
 * kilobyte of hand-assembled code is easier to audit than a vendored binary blob.
 */

export const ValType = { i32: 0x7f, v128: 0x7b } as const;

/** Opcodes, each listed once so a reader can check them against the spec tables. */
export const Op = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  simdPrefix: 0xfd,
} as const;

/** SIMD opcodes follow the 0xfd prefix as a LEB128 u32. */
export const SimdOp = {
  v128Load: 0x00,
  v128Store: 0x0b,
  v128Const: 0x0c,
  i8x16Swizzle: 0x0e,
  v128And: 0x4e,
  v128Xor: 0x51,
  i16x8ShrU: 0x8d,
} as const;

const BLOCK_TYPE_EMPTY = 0x40;

export class ByteWriter {
  private readonly bytes: number[] = [];

  u8(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 255) throw new RangeError(`not a byte: ${value}`);
    this.bytes.push(value);
    return this;
  }

  raw(values: ArrayLike<number>): this {
    for (let i = 0; i < values.length; i++) this.u8(values[i]);
    return this;
  }

  /** Unsigned LEB128. */
  uleb(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`uleb out of range: ${value}`);
    let v = value;
    do {
      const byte = v & 0x7f;
      v = Math.floor(v / 128);
      this.u8(v === 0 ? byte : byte | 0x80);
    } while (v !== 0);
    return this;
  }

  /** Signed LEB128 (i32 immediates). */
  sleb(value: number): this {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) throw new RangeError(`sleb out of range: ${value}`);
    let v = value;
    for (;;) {
      const byte = v & 0x7f;
      v >>= 7;
      const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
      this.u8(done ? byte : byte | 0x80);
      if (done) return this;
    }
  }

  name(text: string): this {
    const encoded = new TextEncoder().encode(text);
    return this.uleb(encoded.length).raw(encoded);
  }

  append(content: ByteWriter): this {
    return this.raw(content.bytes);
  }

  /** Length-prefixed, as sections and function bodies need. */
  sized(content: ByteWriter): this {
    return this.uleb(content.length).append(content);
  }

  get length(): number {
    return this.bytes.length;
  }

  toUint8Array(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** Instruction helpers that read like the text format; `align` of v128 memory ops is log2(16). */
export class CodeWriter extends ByteWriter {
  get(local: number): this { return this.u8(Op.localGet).uleb(local); }
  set(local: number): this { return this.u8(Op.localSet).uleb(local); }
  tee(local: number): this { return this.u8(Op.localTee).uleb(local); }
  i32Const(value: number): this { return this.u8(Op.i32Const).sleb(value); }
  op(code: number): this { return this.u8(code); }
  simd(code: number): this { return this.u8(Op.simdPrefix).uleb(code); }
  v128Load(offset: number): this { return this.simd(SimdOp.v128Load).uleb(4).uleb(offset); }
  v128Store(offset: number): this { return this.simd(SimdOp.v128Store).uleb(4).uleb(offset); }
  v128Const(lanes: ArrayLike<number>): this {
    if (lanes.length !== 16) throw new RangeError('v128.const needs 16 bytes');
    return this.simd(SimdOp.v128Const).raw(lanes);
  }
  block(): this { return this.u8(Op.block).u8(BLOCK_TYPE_EMPTY); }
  loop(): this { return this.u8(Op.loop).u8(BLOCK_TYPE_EMPTY); }
  br(depth: number): this { return this.u8(Op.br).uleb(depth); }
  brIf(depth: number): this { return this.u8(Op.brIf).uleb(depth); }
  end(): this { return this.u8(Op.end); }
}

export interface FunctionSpec {
  exportName: string;
  params: number[];
  /** Extra locals as [count, type] runs, after the params. */
  locals: Array<[number, number]>;
  body: CodeWriter;
}

/** A module with one memory (exported as "memory") and functions with no results. */
export function buildModule(functions: readonly FunctionSpec[], memoryPages: number): Uint8Array {
  const out = new ByteWriter().raw([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

  const types = new ByteWriter().uleb(functions.length);
  for (const f of functions) types.u8(0x60).uleb(f.params.length).raw(f.params).uleb(0);
  section(out, 1, types);

  const funcs = new ByteWriter().uleb(functions.length);
  functions.forEach((_, i) => funcs.uleb(i));
  section(out, 3, funcs);

  section(out, 5, new ByteWriter().uleb(1).u8(0x00).uleb(memoryPages));

  const exports = new ByteWriter().uleb(functions.length + 1).name('memory').u8(0x02).uleb(0);
  functions.forEach((f, i) => exports.name(f.exportName).u8(0x00).uleb(i));
  section(out, 7, exports);

  const code = new ByteWriter().uleb(functions.length);
  for (const f of functions) {
    const body = new ByteWriter().uleb(f.locals.length);
    for (const [count, type] of f.locals) body.uleb(count).u8(type);
    body.append(f.body).u8(Op.end);
    code.sized(body);
  }
  section(out, 10, code);
  return out.toUint8Array();
}

function section(out: ByteWriter, id: number, content: ByteWriter): void {
  out.u8(id).sized(content);
}
