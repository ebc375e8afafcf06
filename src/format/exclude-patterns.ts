import { unescapeBytes, utf8SequenceAt } from './name-bytes.js';

/**
 * `--exclude` / `--exclude-from` patterns for `put -r` and `sync`, with gitignore's rules
 * (docs/USER-GUIDE.md, "Excluding entries"). Pure: no I/O; the CLI reads --exclude-from files.
 *
 * What is matched: the entry's path relative to the tree root (the source directory, not the
 * pool prefix), components joined by `/`, in *match form*: each component's bytes read as UTF-8,
 * a byte that is not part of valid UTF-8 standing for one character U+DC80..U+DCFF (byte 0x80 is
 * U+DC80, as Python's surrogateescape). So `?` matches one character (`é` too) and a name that is
 * not UTF-8 is matched by `*`, `?` or a pattern line that holds the same bytes (in a file).
 *
 * Rules: blank lines and `#` lines (files only) match nothing; `\` escapes the next character;
 * unescaped trailing spaces are dropped (files only); a leading `!` re-includes; a trailing `/`
 * matches directories only; a `/` at the start or in the middle anchors the pattern to the tree
 * root, otherwise it matches the name at any depth; `*` is any run of characters but `/`, `?`
 * one character but `/`, `[...]` one character of a set (`!` or `^` negates; ranges; POSIX
 * `[:alpha:]` classes; never `/`); `**` as a whole component (first, last or between slashes) is
 * any number of directories, elsewhere it is `*`. The last matching pattern decides. A directory
 * that is excluded is not walked into, so nothing under it can be re-included (as in git).
 */

export class ExcludePatternError extends Error {
  constructor(readonly pattern: string, problem: string) {
    super(`bad exclude pattern '${pattern}': ${problem}`);
    this.name = 'ExcludePatternError';
  }
}

export interface ExcludePattern {
  /** The pattern as written (for messages). */
  readonly text: string;
  readonly negated: boolean;
  readonly directoryOnly: boolean;
  /** False: matched against the last component only (the pattern holds no `/`). */
  readonly anchored: boolean;
  readonly regex: RegExp;
}

const POSIX_CLASSES: ReadonlyMap<string, string> = new Map([
  ['alnum', '0-9A-Za-z'], ['alpha', 'A-Za-z'], ['blank', ' \\t'], ['cntrl', '\\x00-\\x1f\\x7f'], ['digit', '0-9'],
  ['graph', '!-~'], ['lower', 'a-z'], ['print', ' -~'], ['punct', '!-\\/:-@\\[-`{-~'], ['space', ' \\t\\n\\v\\f\\r'],
  ['upper', 'A-Z'], ['xdigit', '0-9A-Fa-f'],
]);

/** A literal character as regex source (the `u` flag allows escaping only syntax characters). */
function literal(ch: string): string {
  return /^[0-9A-Za-z_]$/.test(ch) ? ch : `\\u{${(ch.codePointAt(0) as number).toString(16)}}`;
}

/** One pattern (a command-line --exclude, or one meaningful line of a file). */
export function parseExcludePattern(text: string): ExcludePattern {
  let body = text;
  const negated = body.startsWith('!');
  if (negated) body = body.slice(1);
  const directoryOnly = body.endsWith('/') && !body.endsWith('\\/');
  if (directoryOnly) body = body.replace(/\/+$/, '');
  const rooted = body.startsWith('/');
  if (rooted) body = body.replace(/^\/+/, '');
  if (body === '') throw new ExcludePatternError(text, 'it names nothing');
  const anchored = rooted || body.includes('/');
  const source = `^${translate(body, text)}$`;
  let regex: RegExp;
  try {
    regex = new RegExp(source, 'su');
  } catch {
    // translate() builds only valid sources; this keeps a slip from surfacing as a crash.
    throw new ExcludePatternError(text, 'rain cannot read this pattern');
  }
  return { text, negated, directoryOnly, anchored, regex };
}

/** gitignore glob to regex source, over a relative path (anchored) or a last component. */
function translate(body: string, text: string): string {
  const chars = Array.from(body);
  let out = '';
  let i = 0;
  while (i < chars.length) {
    const ch = chars[i];
    if (ch === '\\') {
      if (i + 1 >= chars.length) throw new ExcludePatternError(text, 'it ends with a lone backslash (write \\\\ for a backslash)');
      out += literal(chars[i + 1]);
      i += 2;
    } else if (ch === '*') {
      let run = 0;
      while (chars[i + run] === '*') run++;
      const wholeComponent = run >= 2 && (i === 0 || chars[i - 1] === '/') && (i + run === chars.length || chars[i + run] === '/');
      if (!wholeComponent) {
        out += '[^/]*';
      } else if (i + run === chars.length) {
        // `x/**`: everything inside x (x itself is matched by `x/`); a pattern of just `**`: everything.
        out += '.*';
      } else {
        // `**/` at the start or `/**/` in the middle: zero or more whole directories.
        out += '(?:.*/)?';
        run++;
      }
      i += run;
    } else if (ch === '?') {
      out += '[^/]';
      i++;
    } else if (ch === '[') {
      const parsed = characterClass(chars, i, text);
      out += parsed.source;
      i = parsed.next;
    } else {
      out += ch === '/' ? '/' : literal(ch);
      i++;
    }
  }
  return out;
}

/** `[...]` starting at chars[start]: its regex source (never matching `/`) and the index after it. */
function characterClass(chars: readonly string[], start: number, text: string): { source: string; next: number } {
  let i = start + 1;
  const negated = chars[i] === '!' || chars[i] === '^';
  if (negated) i++;
  let items = '';
  let first = true;
  for (;;) {
    if (i >= chars.length) throw new ExcludePatternError(text, "it has a '[' without its ']' (write \\[ for a literal bracket)");
    let ch = chars[i];
    if (ch === ']' && !first) break;
    first = false;
    if (ch === '[' && chars[i + 1] === ':') {
      const end = chars.indexOf(':', i + 2);
      const name = end > 0 && chars[end + 1] === ']' ? chars.slice(i + 2, end).join('') : undefined;
      const posix = name === undefined ? undefined : POSIX_CLASSES.get(name);
      if (name !== undefined && posix === undefined) throw new ExcludePatternError(text, `[:${name}:] is not a character class (alnum, alpha, digit, lower, upper, space, ...)`);
      if (posix !== undefined) {
        items += posix;
        i = end + 2;
        continue;
      }
    }
    if (ch === '\\') {
      i++;
      if (i >= chars.length) throw new ExcludePatternError(text, 'it ends with a lone backslash (write \\\\ for a backslash)');
      ch = chars[i];
    }
    i++;
    if (chars[i] === '-' && i + 1 < chars.length && chars[i + 1] !== ']') {
      let high = chars[i + 1];
      i += 2;
      if (high === '\\') {
        if (i >= chars.length) throw new ExcludePatternError(text, 'it ends with a lone backslash (write \\\\ for a backslash)');
        high = chars[i];
        i++;
      }
      if ((high.codePointAt(0) as number) < (ch.codePointAt(0) as number)) throw new ExcludePatternError(text, `the range ${ch}-${high} is reversed`);
      items += `${literal(ch)}-${literal(high)}`;
    } else {
      items += literal(ch);
    }
  }
  // A set never matches `/` (a path separator is never part of a name).
  return { source: `(?!/)[${negated ? '^' : ''}${items}]`, next: i + 1 };
}

/**
 * The patterns of an --exclude-from file, its bytes as they are: one per line (LF, or CRLF),
 * blank lines and lines starting with `#` skipped, unescaped trailing spaces dropped. Each line is
 * read in match form, so it can name bytes that are not UTF-8 exactly.
 */
export function excludeFileLines(content: Uint8Array): { readonly text: string; readonly lineNumber: number }[] {
  const patterns: { text: string; lineNumber: number }[] = [];
  matchForm(content).split('\n').forEach((rawLine, index) => {
    const line = dropTrailingSpaces(rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine);
    if (line !== '' && !line.startsWith('#')) patterns.push({ text: line, lineNumber: index + 1 });
  });
  return patterns;
}

/** Trailing spaces go unless the first of them is escaped (`foo\ ` keeps one space). */
function dropTrailingSpaces(line: string): string {
  let end = line.length;
  while (end > 0 && line[end - 1] === ' ') end--;
  if (end === line.length) return line;
  let backslashes = 0;
  while (end - backslashes - 1 >= 0 && line[end - backslashes - 1] === '\\') backslashes++;
  return backslashes % 2 === 1 ? line.slice(0, end + 1) : line.slice(0, end);
}

/** Bytes (a name component, or a whole file) in match form: UTF-8, each stray byte as U+DC80..U+DCFF. */
export function matchForm(bytes: Uint8Array): string {
  let plain = true;
  for (let i = 0; i < bytes.length && plain; i++) plain = bytes[i] < 0x80;
  if (plain) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  let out = '';
  let runFrom = 0;
  let i = 0;
  while (i < bytes.length) {
    const length = utf8SequenceAt(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    out += Buffer.from(bytes.buffer, bytes.byteOffset + runFrom, i - runFrom).toString('utf8') + String.fromCharCode(0xdc00 + bytes[i]);
    i++;
    runFrom = i;
  }
  return out + Buffer.from(bytes.buffer, bytes.byteOffset + runFrom, i - runFrom).toString('utf8');
}

/** A catalog name (components in catalog form, name-bytes.ts) in match form. */
export function matchFormOfName(catalogName: string): string {
  return catalogName.split('/').map((component) => {
    if (!component.includes('\\')) return component;
    const bytes = unescapeBytes(component);
    return bytes ? matchForm(bytes) : component;
  }).join('/');
}

/** An ordered list of patterns; the last one that matches an entry decides. */
export class ExcludeRules {
  readonly patterns: readonly ExcludePattern[];

  constructor(patterns: readonly ExcludePattern[]) {
    this.patterns = patterns;
  }

  /** Parses every pattern (throws ExcludePatternError for the first bad one). */
  static of(patterns: readonly string[]): ExcludeRules {
    return new ExcludeRules(patterns.map(parseExcludePattern));
  }

  get isEmpty(): boolean {
    return this.patterns.length === 0;
  }

  /**
   * Whether this entry is excluded by its own path, its parent directories taken as included
   * (the tree walk never reaches the inside of an excluded directory). `path` is relative to the
   * tree root, in match form, without leading or trailing `/`.
   */
  excludesEntry(path: string, isDirectory: boolean): boolean {
    const lastSlash = path.lastIndexOf('/');
    const lastComponent = lastSlash < 0 ? path : path.slice(lastSlash + 1);
    for (let p = this.patterns.length - 1; p >= 0; p--) {
      const pattern = this.patterns[p];
      if (pattern.directoryOnly && !isDirectory) continue;
      if (pattern.regex.test(pattern.anchored ? path : lastComponent)) return !pattern.negated;
    }
    return false;
  }

  /**
   * Whether an entry is excluded, its parent directories included: anything under an excluded
   * directory is excluded whatever later patterns say (gitignore's rule).
   */
  excludes(path: string, isDirectory: boolean): boolean {
    for (let slash = path.indexOf('/'); slash >= 0; slash = path.indexOf('/', slash + 1)) {
      if (this.excludesEntry(path.slice(0, slash), true)) return true;
    }
    return this.excludesEntry(path, isDirectory);
  }
}
