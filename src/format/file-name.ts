import { MAX_NAME_BYTES } from './pool-limits.js';
import { LONE_SURROGATE, unescapeBytes } from './name-bytes.js';

/**
 * Names in the pool are relative, slash-separated paths whose components are in catalog form
 * (name-bytes.ts): every byte but `/` and NUL is allowed, control bytes, backslashes and bytes that are not
 * UTF-8 written as escapes. Rejected: empty, absolute, '.' or '..' segments, empty segments, a
 * raw control character, a backslash that is not a canonical escape, an escaped NUL, so a name
 * can never escape a directory it is restored into. Returns the problem, or undefined when valid.
 */
export function checkFileName(name: string): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `the name is longer than ${MAX_NAME_BYTES} bytes`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'the name contains a control character (NUL, newline, ...)';
  if (name.startsWith('/')) return 'the name is an absolute path';
  // Without a backslash a name is its own catalog form unless it holds a lone surrogate (which
  // UTF-8 cannot carry): checked once for the whole name instead of decoding every segment.
  const escapes = name.includes('\\');
  if (!escapes && LONE_SURROGATE.test(name)) return BAD_ESCAPE;
  for (const segment of name.split('/')) {
    if (segment === '') return 'the name has an empty path segment';
    if (segment === '.' || segment === '..') return `the name has a '${segment}' path segment`;
    if (!escapes) continue;
    const bytes = unescapeBytes(segment);
    if (!bytes) return BAD_ESCAPE;
    if (bytes.includes(0)) return 'the name contains a NUL byte';
  }
  return undefined;
}

const BAD_ESCAPE = "the name has a backslash that is not an escape (write a backslash as '\\\\'; see 'Names' in the user guide)";
