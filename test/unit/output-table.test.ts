import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { boxTable, formatDuration, Output, plainTable, progressText } from '../../src/cli/output.js';

/** What Output.table writes to stdout for these rows (stdout is not a terminal here). */
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

const BOX_DRAWING = /[\u2500-\u257F]/;
const ANSI_ESCAPE = /\u001b\[/;

afterEach(() => {
  jest.restoreAllMocks();
});

describe('tables on a terminal (box-drawn)', () => {
  it('a table of many rows (laid out in slices) is one table: one top and one bottom border, every row once, every line as wide', () => {
    // The widest name sits in a late slice, so it must widen the columns of every slice before it.
    const rows = Array.from({ length: 1000 }, (_, i) => [i === 900 ? 'a-much-longer-name-than-the-rest' : `f${i}`, String(i)]);
    const lines = boxTable(['name', 'size'], rows);
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
    const lines = boxTable(['name', 'size'], [['x', '1'], ['yy', '22']]);
    expect(lines).toEqual(['┌──────┬──────┐', '│ name │ size │', '├──────┼──────┤', '│ x    │ 1    │', '│ yy   │ 22   │', '└──────┴──────┘']);
  });
});

describe('tables off a terminal (cron, pipes): plain columns', () => {
  it('Output.table off a terminal writes whitespace-aligned columns: no box characters, no escapes, no trailing blanks', () => {
    const lines = rendered([['x', 1], ['a-longer-name', 22]]);
    expect(lines).toEqual(['name           size', 'x              1', 'a-longer-name  22']);
    for (const line of lines) {
      expect(line).not.toMatch(BOX_DRAWING);
      expect(line).not.toMatch(ANSI_ESCAPE);
      expect(line).toBe(line.trimEnd());
    }
  });

  it('columns line up however many rows, so awk and cut read them', () => {
    const rows = Array.from({ length: 300 }, (_, i) => [`f${i}`, String(i * 1000), i % 2 === 0 ? 'degraded' : 'lost']);
    const lines = plainTable(['name', 'size', 'state'], rows);
    expect(lines).toHaveLength(301);
    const stateColumn = lines[0].indexOf('state');
    for (const [i, line] of lines.slice(1).entries()) {
      expect(line.slice(stateColumn)).toBe(i % 2 === 0 ? 'degraded' : 'lost');
      expect(line.split(/\s+/)).toEqual(rows[i]);
    }
  });

  it('--quiet and --json print no table', () => {
    for (const flags of [{ quiet: true }, { json: true }]) {
      const written: string[] = [];
      jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { written.push(String(chunk)); return true; });
      new Output(flags).table(['name'], [['x']]);
      jest.restoreAllMocks();
      expect(written).toEqual([]);
    }
  });
});

describe('progress text (on a terminal only)', () => {
  it('shows a bar, the percentage, bytes, the rate and the time left at that rate', () => {
    const text = progressText('verifying', 25 * 1024 * 1024, 100 * 1024 * 1024, 2000);
    expect(text).toBe('verifying [#####...............] 25% 25.0 MiB of 100.0 MiB, 13.1 MB/s, ETA 0:06');
  });

  it('at the end or before any time passed there is no ETA', () => {
    expect(progressText('putting', 10, 10, 1000)).toBe('putting [####################] 100% 10 B of 10 B, 0.0 MB/s');
    expect(progressText('putting', 0, 10, 0)).toBe('putting [....................] 0% 0 B of 10 B, -');
  });

  it('durations read as m:ss or h:mm:ss', () => {
    expect(formatDuration(7_400)).toBe('0:07');
    expect(formatDuration(750_000)).toBe('12:30');
    expect(formatDuration(7_500_000)).toBe('2:05:00');
  });
});
