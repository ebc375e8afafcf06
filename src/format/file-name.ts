import { MAX_NAME_BYTES } from './pool-limits.js';

/**
 * Names in the pool are relative, slash-separated paths. Rejected: empty, absolute, '.' or '..'
 * segments, empty segments, backslashes and control characters (NUL among them), so a name can
 * never escape a directory it is restored into. Returns the problem, or undefined when valid.
 */
export function checkFileName(name: string): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `the name is longer than ${MAX_NAME_BYTES} bytes`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'the name contains a control character (NUL, newline, ...)';
  if (name.includes('\\')) return 'the name contains a backslash';
  if (name.startsWith('/')) return 'the name is an absolute path';
  for (const segment of name.split('/')) {
    if (segment === '') return 'the name has an empty path segment';
    if (segment === '.' || segment === '..') return `the name has a '${segment}' path segment`;
  }
  return undefined;
}
