/**
 * Generates the WebAssembly SIMD coding module. Each exported `mulG` computes G outputs in one
 * pass over the inputs, keeping the G accumulators in registers, so every input vector is loaded
 * once per group instead of once per output.
 *
 * GF(2^8) multiplication by a constant is linear over XOR, so c*x = c*(x & 0x0f) ^ c*(x & 0xf0):
 * two 16-entry tables per coefficient, looked up 16 bytes at a time with i8x16.swizzle.
 *
 * mulG(inPtr, inStride, inCount, tblPtr, tblStride, outPtr, outStride, len):
 *   input c is at inPtr + c*inStride, output g at outPtr + g*outStride;
 *   the tables for (output g, input c) are 32 bytes at tblPtr + c*tblStride + g*32
 *   (16 low-nibble products, then 16 high-nibble products);
 *   len must be a multiple of 16 * UNROLL and inCount >= 1.
 */
import { buildModule, CodeWriter, SimdOp, Op, ValType, type FunctionSpec } from './wasm-emitter.js';

/**
 * Outputs per pass. 3 x UNROLL accumulators plus 9 temporaries fill x64's 16 vector registers;
 * measured on this machine, groups of 4 spill and run slower than two passes of 2.
 */
export const MAX_GROUP = 3;

/** 16-byte vectors per loop step: two halves the table loads and loop overhead per byte. */
export const UNROLL = 2;

const P = { inPtr: 0, inStride: 1, inCount: 2, tblPtr: 3, tblStride: 4, outPtr: 5, outStride: 6, len: 7 } as const;
const L = { pos: 8, ip: 9, tp: 10, c: 11, op: 12, mask: 13, tlo: 14, thi: 15, vectors: 16 } as const;

function mulFunction(group: number): FunctionSpec {
  const w = new CodeWriter();
  const x = (u: number): number => L.vectors + u;
  const lo = (u: number): number => L.vectors + UNROLL + u;
  const hi = (u: number): number => L.vectors + 2 * UNROLL + u;
  const acc = (g: number, u: number): number => L.vectors + 3 * UNROLL + g * UNROLL + u;

  w.v128Const(new Array<number>(16).fill(0x0f)).set(L.mask);
  w.block().loop();
  {
    w.get(L.pos).get(P.len).op(Op.i32GeU).brIf(1);
    for (let g = 0; g < group; g++) for (let u = 0; u < UNROLL; u++) w.v128Const(new Array<number>(16).fill(0)).set(acc(g, u));
    w.get(P.inPtr).get(L.pos).op(Op.i32Add).set(L.ip);
    w.get(P.tblPtr).set(L.tp);
    w.get(P.inCount).set(L.c);
    w.loop();
    {
      for (let u = 0; u < UNROLL; u++) {
        w.get(L.ip).v128Load(16 * u).tee(x(u)).get(L.mask).simd(SimdOp.v128And).set(lo(u));
        // A 16-bit shift drags the neighbour byte's low bits into bits 4..7, which the mask drops;
        // measured faster than i8x16.shr_u, which V8 emulates on x64.
        w.get(x(u)).i32Const(4).simd(SimdOp.i16x8ShrU).get(L.mask).simd(SimdOp.v128And).set(hi(u));
      }
      for (let g = 0; g < group; g++) {
        w.get(L.tp).v128Load(g * 32).set(L.tlo);
        w.get(L.tp).v128Load(g * 32 + 16).set(L.thi);
        for (let u = 0; u < UNROLL; u++) {
          w.get(acc(g, u));
          w.get(L.tlo).get(lo(u)).simd(SimdOp.i8x16Swizzle);
          w.get(L.thi).get(hi(u)).simd(SimdOp.i8x16Swizzle);
          w.simd(SimdOp.v128Xor).simd(SimdOp.v128Xor).set(acc(g, u));
        }
      }
      w.get(L.ip).get(P.inStride).op(Op.i32Add).set(L.ip);
      w.get(L.tp).get(P.tblStride).op(Op.i32Add).set(L.tp);
      w.get(L.c).i32Const(1).op(Op.i32Sub).tee(L.c).brIf(0);
    }
    w.end();
    w.get(P.outPtr).get(L.pos).op(Op.i32Add).set(L.op);
    for (let g = 0; g < group; g++) {
      for (let u = 0; u < UNROLL; u++) w.get(L.op).get(acc(g, u)).v128Store(16 * u);
      if (g + 1 < group) w.get(L.op).get(P.outStride).op(Op.i32Add).set(L.op);
    }
    w.get(L.pos).i32Const(16 * UNROLL).op(Op.i32Add).set(L.pos);
    w.br(0);
  }
  w.end().end();

  return {
    exportName: `mul${group}`,
    params: new Array<number>(8).fill(ValType.i32),
    locals: [
      [5, ValType.i32],
      [3 + 3 * UNROLL + group * UNROLL, ValType.v128],
    ],
    body: w,
  };
}

export function buildSimdModuleBytes(initialPages: number): Uint8Array {
  const functions: FunctionSpec[] = [];
  for (let g = 1; g <= MAX_GROUP; g++) functions.push(mulFunction(g));
  return buildModule(functions, initialPages);
}
