import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ExcludePatternError, ExcludeRules, excludeFileLines, matchForm, matchFormOfName, parseExcludePattern } from '../../src/format/exclude-patterns.js';
import { escapeBytes } from '../../src/format/name-bytes.js';
import { TreeExclusion, walkTree, withoutExcluded } from '../../src/ops/tree-walk.js';

type Row = readonly [patterns: string | readonly string[], path: string, isDirectory: boolean, excluded: boolean];

/** Each row: the patterns (in order), a path relative to the tree root (match form), whether it is a directory, the verdict. */
const rows: readonly Row[] = [
  // No slash: the name at any depth.
  ['*.tmp', 'a.tmp', false, true],
  ['*.tmp', 'deep/er/a.tmp', false, true],
  ['*.tmp', 'a.tmpx', false, false],
  // A directory that matches takes its contents with it.
  ['*.tmp', 'x.tmp/inner', false, true],
  ['*.tmp', 'x.tmpdir/inner', false, false],
  ['foo', 'foo', true, true],
  ['foo', 'a/b/foo', false, true],
  ['foo', 'foobar', false, false],
  // `*` and `?` never match `/`.
  ['a*b', 'a/b', false, false],
  ['a/*', 'a/b/c', false, true],
  ['a/*.c', 'a/b/c.c', false, false],
  ['a/*', 'a/b', false, true],
  ['a?c', 'abc', false, true],
  ['a?c', 'a/c', false, false],
  ['a?c', 'ac', false, false],
  ['?', 'é', false, true],
  ['??', '😀', false, false],
  ['?', '😀', false, true],
  // Sets, ranges, negation, POSIX classes; never `/`.
  ['[abc].txt', 'b.txt', false, true],
  ['[abc].txt', 'd.txt', false, false],
  ['[a-c]x', 'cx', false, true],
  ['[!a-c]x', 'cx', false, false],
  ['[!a-c]x', 'dx', false, true],
  ['[^a-c]x', 'dx', false, true],
  ['[]]', ']', false, true],
  ['[!]]', 'a', false, true],
  ['a[/]b', 'a/b', false, false],
  ['a[!x]b', 'a/b', false, false],
  ['[[:digit:]][[:upper:]]', '7Q', false, true],
  ['[[:digit:]][[:upper:]]', '7q', false, false],
  ['[[:space:]]x', ' x', false, true],
  ['[a\\]]', ']', false, true],
  ['[*?]', '*', false, true],
  ['[*?]', 'a', false, false],
  // A leading `/` anchors to the tree root; so does a `/` in the middle.
  ['/foo', 'foo', false, true],
  ['/foo', 'a/foo', false, false],
  ['a/b', 'a/b', false, true],
  ['a/b', 'x/a/b', false, false],
  ['/a/*.c', 'a/x.c', false, true],
  // A trailing `/` matches directories only.
  ['cache/', 'cache', true, true],
  ['cache/', 'cache', false, false],
  ['cache/', 'x/cache', true, true],
  ['/cache/', 'x/cache', true, false],
  ['a/b/', 'a/b', true, true],
  ['a/b/', 'a/b', false, false],
  // `**`
  ['**/foo', 'foo', false, true],
  ['**/foo', 'a/b/foo', false, true],
  ['**/foo/bar', 'x/foo/bar', false, true],
  ['**/foo/bar', 'foo/bar', false, true],
  ['**/foo/bar', 'x/foo/y/bar', false, false],
  ['abc/**', 'abc/x', false, true],
  ['abc/**', 'abc/x/y', false, true],
  ['abc/**', 'abc', true, false],
  ['abc/**', 'x/abc/y', false, false],
  ['a/**/b', 'a/b', false, true],
  ['a/**/b', 'a/x/b', false, true],
  ['a/**/b', 'a/x/y/b', false, true],
  ['a/**/b', 'a/xb', false, false],
  ['**', 'anything/at/all', false, true],
  ['a**b', 'axxb', false, true],
  ['a**b', 'a/b', false, false],
  ['**x', 'a/yx', false, true],
  // Escapes.
  ['\\*', '*', false, true],
  ['\\*', 'a', false, false],
  ['\\!keep', '!keep', false, true],
  ['\\#x', '#x', false, true],
  ['a\\?', 'a?', false, true],
  ['a\\?', 'ab', false, false],
  ['back\\\\slash', 'back\\slash', false, true],
  // Characters a regex would read: literal here.
  ['a.b', 'axb', false, false],
  ['(x)+', '(x)+', false, true],
  ['x{2}', 'xx', false, false],
  ['$^|', '$^|', false, true],
  // `!` re-includes; the last matching pattern decides.
  [['*.tmp', '!keep.tmp'], 'keep.tmp', false, false],
  [['*.tmp', '!keep.tmp'], 'sub/keep.tmp', false, false],
  [['*.tmp', '!keep.tmp'], 'other.tmp', false, true],
  [['!keep.tmp', '*.tmp'], 'keep.tmp', false, true],
  [['*', '!*/', '!*.c'], 'src', true, false],
  [['*', '!*/', '!*.c'], 'src/x.h', false, true],
  [['*', '!*/', '!*.c'], 'src/x.c', false, false],
  // gitignore: nothing inside an excluded directory can be re-included.
  [['build/', '!build/keep'], 'build/keep', false, true],
  [['build/', '!build/keep'], 'build', true, true],
  [['build', '!build/**'], 'build/a', false, true],
  [['build/*', '!build/keep'], 'build/keep', false, false],
  [['build/*', '!build/keep'], 'build/other', false, true],
  // Names that are not UTF-8 (match form: one U+DC80..U+DCFF character per stray byte).
  ['caf?', 'caf\udce9', false, true],
  ['*.bin', 'x\udcff.bin', false, true],
  ['caf\udce9', 'caf\udce9', false, true],
  ['caf\udce9', 'café', false, false],
  // Control characters are characters like any other.
  ['a?b', 'a\nb', false, true],
  ['*', 'new\nline', false, true],
];

describe('exclude patterns (gitignore rules)', () => {
  it.each(rows)('%j on %j (dir %s) -> excluded %s', (patterns, entryPath, isDirectory, excluded) => {
    const rules = ExcludeRules.of(typeof patterns === 'string' ? [patterns] : patterns);
    expect(rules.excludes(entryPath, isDirectory)).toBe(excluded);
  });

  it('judges one entry by its own path when its directories are already known to be included (the walk)', () => {
    expect(ExcludeRules.of(['a/*']).excludesEntry('a/b/c', false)).toBe(false);
    expect(ExcludeRules.of(['build/', '!build/keep']).excludesEntry('build/keep', false)).toBe(false);
  });

  it('refuses a bad pattern, naming it and what is wrong', () => {
    const bad: readonly [string, RegExp][] = [
      ['[abc', /'\[abc'.*without its '\]'/],
      ['a\\', /lone backslash/],
      ['[z-a]', /range z-a is reversed/],
      ['[[:nope:]]', /\[:nope:\] is not a character class/],
      ['!', /names nothing/],
      ['/', /names nothing/],
    ];
    for (const [text, message] of bad) {
      expect(() => parseExcludePattern(text)).toThrow(ExcludePatternError);
      expect(() => parseExcludePattern(text)).toThrow(message);
    }
  });

  it('reads a pattern file: comments, blank lines, trailing spaces, CRLF, bytes that are not UTF-8', () => {
    const content = Buffer.concat([
      Buffer.from('# a comment\n\n*.tmp   \nkeep\\ \n  lead\r\n\\#hash\n!*.keep\ncaf'),
      Buffer.of(0xe9),
      Buffer.from('\n'),
    ]);
    expect(excludeFileLines(content)).toEqual([
      { text: '*.tmp', lineNumber: 3 },
      { text: 'keep\\ ', lineNumber: 4 },
      { text: '  lead', lineNumber: 5 },
      { text: '\\#hash', lineNumber: 6 },
      { text: '!*.keep', lineNumber: 7 },
      { text: 'caf\udce9', lineNumber: 8 },
    ]);
    const rules = new ExcludeRules(excludeFileLines(content).map((line) => parseExcludePattern(line.text)));
    expect(rules.excludes('keep ', false)).toBe(true);
    expect(rules.excludes('#hash', false)).toBe(true);
    expect(rules.excludes(matchForm(Buffer.from([0x63, 0x61, 0x66, 0xe9])), false)).toBe(true);
  });

  it('match form: UTF-8 as text, each stray byte one U+DC80..U+DCFF character; catalog names alike', () => {
    expect(matchForm(Buffer.from('plain.txt'))).toBe('plain.txt');
    expect(matchForm(Buffer.from('café'))).toBe('café');
    expect(matchForm(Buffer.of(0x61, 0xff, 0x80, 0x62))).toBe('a\udcff\udc80b');
    const odd = Buffer.of(0x78, 0xe9, 0x0a, 0x5c);
    expect(matchFormOfName(`dir/${escapeBytes(odd)}`)).toBe(`dir/x\udce9\n\\`);
  });
});

describe('the tree walk with exclusions', () => {
  let root = '';
  afterEach(() => {
    jest.restoreAllMocks();
    if (root !== '') fs.rmSync(root, { recursive: true, force: true });
  });

  it('leaves excluded entries out, counts them, never reads an excluded directory, and tells sync --delete which names to keep', () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'rain-exclude-'));
    const tree = path.join(root, 'tree');
    for (const dir of ['node_modules/pkg', 'src/node_modules', 'src/lib']) fs.mkdirSync(path.join(tree, dir), { recursive: true });
    for (const file of ['a.c', 'a.o', 'src/lib/b.c', 'src/lib/keep.o', 'node_modules/pkg/x.js', 'src/node_modules/y.js']) fs.writeFileSync(path.join(tree, file), 'x');
    fs.writeFileSync(Buffer.concat([Buffer.from(`${tree}/bad`), Buffer.of(0xff), Buffer.from('.o')]), 'x');
    const readdir = jest.spyOn(fs, 'readdirSync');
    const exclusion = new TreeExclusion(ExcludeRules.of(['*.o', '!keep.o', 'node_modules/']));
    const warnings: string[] = [];
    const names = walkTree(tree, 'p', warnings, exclusion).map((s) => s.name);
    expect(names).toEqual(['p', 'p/a.c', 'p/src', 'p/src/lib', 'p/src/lib/b.c', 'p/src/lib/keep.o']);
    expect(warnings).toEqual([]);
    // a.o, bad\xff.o, node_modules (once, its contents unread), src/node_modules.
    expect(exclusion.excludedCount).toBe(4);
    const read = readdir.mock.calls.map((call) => String(call[0]));
    expect(read.some((dir) => dir.includes('node_modules'))).toBe(false);
    expect(read.length).toBe(3);

    const stored = new Map(['p/a.c', 'p/a.o', 'p/node_modules/pkg/x.js', 'p/bad\\xff.o', 'p/src/lib/keep.o', 'p/src', 'q/a.o'].map((name) => [name, { name, kind: name === 'p/src' ? 'dir' : undefined }]));
    expect([...withoutExcluded(stored, 'p', exclusion).keys()]).toEqual(['p/a.c', 'p/src/lib/keep.o', 'p/src', 'q/a.o']);
  });
});
