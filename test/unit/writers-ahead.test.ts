import { describe, expect, it } from '@jest/globals';
import { WritersAhead } from '../../src/dataset/writers-ahead.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

describe('WritersAhead', () => {
  it('is ahead of a version only when a live writer announced a strictly newer one of the same file', () => {
    const ahead = new WritersAhead([`${A}@100`, `${A}@300`, `${B}@50`]);
    expect(ahead.isAhead(A, 299n)).toBe(true);
    // A writer's own announcement (the version it collects for) does not hold itself back.
    expect(ahead.isAhead(A, 300n)).toBe(false);
    expect(ahead.isAhead(A, 301n)).toBe(false);
    expect(ahead.isAhead(B, 49n)).toBe(true);
    expect(ahead.isAhead('c'.repeat(32), 0n)).toBe(false);
  });

  it('ignores announcements that are not a file id and a decimal sequence', () => {
    const ahead = new WritersAhead([`${A}@`, `${A}@12x`, `${A}@1@2`, `../${A}@5`, `${A.toUpperCase()}@9`, `${A}@${'9'.repeat(21)}`, '']);
    expect(ahead.isAhead(A, 0n)).toBe(false);
  });
});
