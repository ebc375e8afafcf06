import { describe, it, expect } from '@jest/globals';
import { ByteWriter, CodeWriter, buildModule, ValType } from '../../src/codec/wasm-emitter.js';

interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

const hex = (w: ByteWriter): string => Buffer.from(w.toUint8Array()).toString('hex');

describe('wasm emitter', () => {
  it('writes LEB128 like the spec examples', () => {
    expect(hex(new ByteWriter().uleb(0))).toBe('00');
    expect(hex(new ByteWriter().uleb(127))).toBe('7f');
    expect(hex(new ByteWriter().uleb(128))).toBe('8001');
    expect(hex(new ByteWriter().uleb(624485))).toBe('e58e26');
    expect(hex(new ByteWriter().uleb(0xffffffff))).toBe('ffffffff0f');
    expect(hex(new ByteWriter().sleb(-1))).toBe('7f');
    expect(hex(new ByteWriter().sleb(63))).toBe('3f');
    expect(hex(new ByteWriter().sleb(64))).toBe('c000');
    expect(hex(new ByteWriter().sleb(-64))).toBe('40');
    expect(hex(new ByteWriter().sleb(-123456))).toBe('c0bb78');
    expect(() => new ByteWriter().uleb(-1)).toThrow(RangeError);
    expect(() => new ByteWriter().u8(256)).toThrow(RangeError);
  });

  it('builds a module that WebAssembly accepts and runs', () => {
    // f(p) stores 16 bytes of 0x2a at address p: exercises memory export, v128.const and store.
    const body = new CodeWriter().get(0).v128Const(new Array<number>(16).fill(0x2a)).v128Store(0);
    const bytes = buildModule([{ exportName: 'fill', params: [ValType.i32], locals: [], body }], 1);
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    expect(wasm.validate(bytes)).toBe(true);
    expect(wasm.validate(bytes.subarray(0, bytes.length - 1))).toBe(false);
    const { exports } = new wasm.Instance(new wasm.Module(bytes), {});
    (exports.fill as (p: number) => void)(32);
    const memory = new Uint8Array((exports.memory as { buffer: ArrayBuffer }).buffer);
    expect(memory.length).toBe(65536);
    expect(Array.from(memory.subarray(31, 49))).toEqual([0, ...new Array<number>(16).fill(0x2a), 0]);
  });
});
