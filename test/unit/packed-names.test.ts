import { describe, expect, it } from '@jest/globals';
import { PackedNames } from '../../src/ops/packed-names.js';

/**
 * A walk's names packed as UTF-8 must give back every name at its position and find every one by
 * name, in JavaScript string order, which UTF-8 bytes do not keep (U+E000..U+FFFF against a
 * surrogate pair): a name found at the wrong position would pair a catalog record with another
 * file's stamp.
 */
function sortedOrder(names: readonly string[]): Uint32Array {
  const order = Uint32Array.from(names.keys());
  order.sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0));
  return order;
}

describe('PackedNames', () => {
  it('gives back and finds every name, across sample stretches, with names whose UTF-8 order differs from string order', () => {
    const tricky = ['a\uE000', 'a\u{1F600}', 'a\uFFFD', 'a\u{10000}', 'spät ☂', 'a', '', 'a\u007f', 'a\u0080', 'a\uD7FF'];
    const names = [...tricky, ...Array.from({ length: 1000 }, (_, i) => `d${i % 7}/f${String(i).padStart(5, '0')}${i % 3 === 0 ? '\uE001' : i % 3 === 1 ? '\u{1F601}' : ''}`)];
    const order = sortedOrder(names);
    const packed = PackedNames.pack(names, order);
    if (!packed) throw new Error('not packed');
    expect(packed.length).toBe(names.length);
    for (let p = 0; p < order.length; p++) {
      expect(packed.at(p)).toBe(names[order[p]]);
      expect(packed.positionOf(names[order[p]])).toBe(p);
    }
    for (const absent of ['a\uE000x', 'zzz', '\u0000', 'a\u{1F600}\u0000', 'd3/f00001', ' ']) expect(packed.positionOf(absent)).toBe(-1);
    expect(() => packed.at(names.length)).toThrow(RangeError);
  });

  it('keeps nothing packed for a lone surrogate (it would not survive UTF-8) and packs an empty list', () => {
    expect(PackedNames.pack(['ok', 'bad\uD800'], Uint32Array.from([0, 1]))).toBeUndefined();
    expect(PackedNames.pack(['\uDC00'], Uint32Array.from([0]))).toBeUndefined();
    const empty = PackedNames.pack([], new Uint32Array(0));
    expect(empty?.length).toBe(0);
    expect(empty?.positionOf('x')).toBe(-1);
  });
});
