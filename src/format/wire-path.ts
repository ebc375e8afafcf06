import { escapeBytes } from './name-bytes.js';

/**
 * File paths travel between rain's processes as JSON strings, but a Linux path is bytes and may
 * not be valid UTF-8 (a name put by `put -r` can be any bytes). A path that is valid UTF-8 travels
 * as itself; any other as NUL + its base64 (no real path holds a NUL). `fsPath` turns either back
 * into what node:fs takes.
 */
const BYTES_MARK = '\u0000';

export function wirePath(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : `${BYTES_MARK}${bytes.toString('base64')}`;
}

/** Whether the wire path carries bytes that are not UTF-8 (so it is not a plain string path). */
export function isBytesWirePath(wire: string): boolean {
  return wire.startsWith(BYTES_MARK);
}

export function fsPath(wire: string): string | Buffer {
  return wire.startsWith(BYTES_MARK) ? Buffer.from(wire.slice(1), 'base64') : wire;
}

/** The path's bytes, whichever way it travels. */
export function pathBytes(wire: string): Buffer {
  const p = fsPath(wire);
  return typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
}

/** `dir/child` in bytes, as a wire path. */
export function joinWirePath(dir: string, child: Buffer): string {
  const parent = pathBytes(dir);
  const needsSlash = parent.length > 0 && parent[parent.length - 1] !== 0x2f;
  return wirePath(Buffer.concat([parent, ...(needsSlash ? [Buffer.from('/')] : []), child]));
}

/** The directory part of a wire path (as path.dirname; '/' stays '/'). */
export function wireDirname(wire: string): string {
  const bytes = pathBytes(wire);
  let end = bytes.length;
  while (end > 1 && bytes[end - 1] === 0x2f) end--;
  const slash = bytes.lastIndexOf(0x2f, end - 1);
  if (slash < 0) return '.';
  return wirePath(bytes.subarray(0, slash === 0 ? 1 : slash));
}

/** The last component of a wire path, as bytes. */
export function wireBasename(wire: string): Buffer {
  const bytes = pathBytes(wire);
  let end = bytes.length;
  while (end > 1 && bytes[end - 1] === 0x2f) end--;
  return bytes.subarray(bytes.lastIndexOf(0x2f, end - 1) + 1, end);
}

/** A wire path as people read it: its components' bytes in catalog form (name-bytes.ts), slashes as they are. */
export function displayPath(wire: string): string {
  return escapeBytes(pathBytes(wire));
}
