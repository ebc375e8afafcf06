import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Output } from '../../src/cli/output.js';

/** What Output.table writes to stdout for these rows (no colour: stdout is not a terminal here). */
function rendered(rows: (string | number)[][]): string[] {
  const written: string[] = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  new Output({}).table(['name', 'size'], rows);
  jest.restoreAllMocks();
  return written.join('').split('\n').filter((line) => line !== '');
}

afterEach(() => {
  jest.restoreAllMocks();
});

describe('tables on stdout', () => {
  it('a table of many rows (laid out in slices) is one table: one top and one bottom border, every row once, every line as wide', () => {
    // The widest name sits in a late slice, so it must widen the columns of every slice before it.
    const rows = Array.from({ length: 1000 }, (_, i) => [i === 900 ? 'a-much-longer-name-than-the-rest' : `f${i}`, i]);
    const lines = rendered(rows);
    expect(lines).toHaveLength(1000 + 4);
    expect(lines.filter((l) => l.startsWith('┌'))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('└'))).toHaveLength(1);
    expect(lines[0].startsWith('┌')).toBe(true);
    expect(lines[lines.length - 1].startsWith('└')).toBe(true);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(lines[1]).toMatch(/│ name +│ size +│/);
    for (let i = 0; i < 1000; i++) expect(lines[3 + i]).toMatch(new RegExp(`^│ ${i === 900 ? 'a-much-longer-name-than-the-rest' : `f${i}`} +│ ${i} +│$`));
  });

  it('a small table is laid out the same as the same rows in one slice', () => {
    const lines = rendered([['x', 1], ['yy', 22]]);
    expect(lines).toEqual(['┌──────┬──────┐', '│ name │ size │', '├──────┼──────┤', '│ x    │ 1    │', '│ yy   │ 22   │', '└──────┴──────┘']);
  });
});
