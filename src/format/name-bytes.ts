/**
 * Linux names are byte strings; the catalog's are JSON text. A path component's bytes become its
 * *catalog form* (docs/FORMAT.md §4, "Names"): valid UTF-8 without control characters or
 * backslashes stays as it is, so every name rain accepted before keeps its text, its hash and
 * its placement; `\` becomes `\\`; tab, newline and carriage return `\t`, `\n`, `\r`; any other
 * control byte and every byte that is not part of valid UTF-8 `\xHH` (two lowercase hex digits).
 * The form is exact both ways and is also how a name is shown (ls, messages, --json): it never
 * holds a control character, so one name is always one line.
 */

const SHORT_ESCAPES: ReadonlyMap<number, string> = new Map([[0x5c, '\\\\'], [0x09, '\\t'], [0x0a, '\\n'], [0x0d, '\\r']]);
const SHORT_UNESCAPES: ReadonlyMap<string, number> = new Map([['\\', 0x5c], ['t', 0x09], ['n', 0x0a], ['r', 0x0d]]);

/** Length of the valid UTF-8 sequence starting at `i` (1..4), or 0 when the byte there starts none. */
export function utf8SequenceAt(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i];
  if (b0 < 0x80) return 1;
  const continuation = (j: number, low = 0x80, high = 0xbf): boolean => j < bytes.length && bytes[j] >= low && bytes[j] <= high;
  if (b0 >= 0xc2 && b0 <= 0xdf) return continuation(i + 1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    // No overlong forms (E0 80..9F) and no surrogates (ED A0..BF).
    const low = b0 === 0xe0 ? 0xa0 : 0x80;
    const high = b0 === 0xed ? 0x9f : 0xbf;
    return continuation(i + 1, low, high) && continuation(i + 2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const low = b0 === 0xf0 ? 0x90 : 0x80;
    const high = b0 === 0xf4 ? 0x8f : 0xbf;
    return continuation(i + 1, low, high) && continuation(i + 2) && continuation(i + 3) ? 4 : 0;
  }
  return 0;
}

function hexEscape(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, '0')}`;
}

/** The catalog form of any byte string (a name component, or a symlink target with its slashes). */
export function escapeBytes(bytes: Uint8Array): string {
  if (isPlainAscii(bytes)) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  let out = '';
  let plainFrom = 0;
  let i = 0;
  const flush = (to: number): void => {
    if (to > plainFrom) out += Buffer.from(bytes.buffer, bytes.byteOffset + plainFrom, to - plainFrom).toString('utf8');
  };
  while (i < bytes.length) {
    const b = bytes[i];
    const escape = SHORT_ESCAPES.get(b) ?? (b < 0x20 || b === 0x7f ? hexEscape(b) : undefined);
    const length = escape === undefined ? utf8SequenceAt(bytes, i) : 0;
    if (length > 0) {
      i += length;
      continue;
    }
    flush(i);
    out += escape ?? hexEscape(b);
    i++;
    plainFrom = i;
  }
  flush(i);
  return out;
}

/** Printable ASCII without a backslash: its own catalog form (the common case, checked without decoding). */
function isPlainAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b < 0x20 || b > 0x7e || b === 0x5c) return false;
  }
  return true;
}

/** With the u flag a surrogate pair is one code point, so only an unpaired surrogate matches. */
export const LONE_SURROGATE = /\p{Cs}/u;

/** The bytes a catalog form stands for, or undefined when it is not one (a stray or unknown escape, or not canonical). */
export function unescapeBytes(text: string): Buffer | undefined {
  if (!text.includes('\\')) {
    // eslint-disable-next-line no-control-regex
    // A lone surrogate is no character UTF-8 can hold; a pair (an emoji) is one character and fine.
    return /[\u0000-\u001f\u007f]/.test(text) || LONE_SURROGATE.test(text) ? undefined : Buffer.from(text, 'utf8');
  }
  const parts: Buffer[] = [];
  let plainFrom = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '\\') continue;
    parts.push(Buffer.from(text.slice(plainFrom, i), 'utf8'));
    const next = text[i + 1];
    const short = next === undefined ? undefined : SHORT_UNESCAPES.get(next);
    if (short !== undefined) {
      parts.push(Buffer.of(short));
      i += 1;
    } else if (next === 'x' && /^[0-9a-f]{2}$/.test(text.slice(i + 2, i + 4))) {
      parts.push(Buffer.of(parseInt(text.slice(i + 2, i + 4), 16)));
      i += 3;
    } else {
      return undefined;
    }
    plainFrom = i + 1;
  }
  parts.push(Buffer.from(text.slice(plainFrom), 'utf8'));
  const bytes = Buffer.concat(parts);
  // One byte string has one catalog form: `\x41` for `A`, or an escaped valid sequence, is not it.
  return escapeBytes(bytes) === text ? bytes : undefined;
}

/** A catalog name's components as the bytes Linux knows them by (the name must be valid). */
export function nameComponents(name: string): Buffer[] {
  return name.split('/').map((segment) => {
    const bytes = unescapeBytes(segment);
    if (!bytes) throw new Error(`not a catalog name: ${name}`);
    return bytes;
  });
}
