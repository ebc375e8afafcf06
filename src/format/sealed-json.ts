import { isUtf8 } from 'node:buffer';
import { crc32Of, crc32OfText } from './checksum.js';

/**
 * Small metadata files (manifest, store identity, catalog records) are JSON wrapped with a CRC of
 * the body's exact text, so a torn or bit-flipped file is detected rather than half-trusted:
 *   {"crc32":1234,"body":{...}}\n
 */
export function sealJson(body: object): string {
  const bodyText = JSON.stringify(body);
  return `{"crc32":${crc32OfText(bodyText)},"body":${bodyText}}\n`;
}

export type Unsealed = { readonly ok: true; readonly body: unknown } | { readonly ok: false; readonly reason: string };

const SEAL_PREFIX = '{"crc32":';
const BODY_PREFIX = ',"body":';
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const CLOSING_BRACE = 0x7d;
const NOT_SEALED: Unsealed = { ok: false, reason: 'not a sealed rain record' };

/**
 * The inverse of sealJson: `{"crc32":<1-10 digits>,"body":<body>}` and at most one newline,
 * nothing else. Parsed by hand: a regular expression over the whole text cost as much as the
 * JSON parse, and every catalog read does this once per record.
 */
export function unsealJson(text: string): Unsealed {
  const sealed = checkedBody(text);
  if (typeof sealed !== 'string') return sealed;
  try {
    return { ok: true, body: JSON.parse(sealed) as unknown };
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
}

/** Whether the text is sealed and its body matches its checksum, without parsing the body (a reader skipping records it does not want). */
export function sealIntact(text: string): boolean {
  return typeof checkedBody(text) === 'string';
}

/** The body text of a sealed text whose checksum matches, or why not. */
function checkedBody(text: string): string | Unsealed {
  if (!text.startsWith(SEAL_PREFIX)) return NOT_SEALED;
  let digitsEnd = SEAL_PREFIX.length;
  while (digitsEnd < text.length && text.charCodeAt(digitsEnd) >= DIGIT_0 && text.charCodeAt(digitsEnd) <= DIGIT_9) digitsEnd++;
  const digitCount = digitsEnd - SEAL_PREFIX.length;
  if (digitCount < 1 || digitCount > 10 || !text.startsWith(BODY_PREFIX, digitsEnd)) return NOT_SEALED;
  const bodyStart = digitsEnd + BODY_PREFIX.length;
  const end = text.endsWith('\n') ? text.length - 1 : text.length;
  if (end - 1 < bodyStart || text.charCodeAt(end - 1) !== CLOSING_BRACE) return NOT_SEALED;
  const bodyText = text.slice(bodyStart, end - 1);
  if (crc32OfText(bodyText) !== Number(text.slice(SEAL_PREFIX.length, digitsEnd))) return { ok: false, reason: 'checksum mismatch' };
  return bodyText;
}

const SEAL_PREFIX_BYTES = Buffer.from(SEAL_PREFIX);
const BODY_PREFIX_BYTES = Buffer.from(BODY_PREFIX);

/**
 * Where the body of a sealed line held as bytes, `bytes[start, end)` without its newline, begins
 * when unsealJson would accept the line: the same framing, a body that is UTF-8 and matches its
 * checksum; -1 when not. The body is `bytes[returned, end - 1)`. A streaming reader keeps thousands
 * of lines as bytes and turns only those it yields into strings (a line held as a string until
 * the merge passed it outlived two young-generation collections: 1.8 s of a million-name ls).
 */
export function sealedBodyStart(bytes: Buffer, start: number, end: number): number {
  if (end - start < SEAL_PREFIX_BYTES.length || bytes.compare(SEAL_PREFIX_BYTES, 0, SEAL_PREFIX_BYTES.length, start, start + SEAL_PREFIX_BYTES.length) !== 0) return -1;
  const digitsStart = start + SEAL_PREFIX_BYTES.length;
  let digitsEnd = digitsStart;
  let expected = 0;
  while (digitsEnd < end && bytes[digitsEnd] >= DIGIT_0 && bytes[digitsEnd] <= DIGIT_9) expected = expected * 10 + bytes[digitsEnd++] - DIGIT_0;
  const digitCount = digitsEnd - digitsStart;
  if (digitCount < 1 || digitCount > 10) return -1;
  const bodyStart = digitsEnd + BODY_PREFIX_BYTES.length;
  if (bodyStart > end || bytes.compare(BODY_PREFIX_BYTES, 0, BODY_PREFIX_BYTES.length, digitsEnd, bodyStart) !== 0) return -1;
  if (end - 1 < bodyStart || bytes[end - 1] !== CLOSING_BRACE) return -1;
  const body = bytes.subarray(bodyStart, end - 1);
  // Bytes that are not UTF-8 become U+FFFD in a string, whose checksum then differs: refused alike.
  if (!isUtf8(body) || crc32Of(body) !== expected) return -1;
  return bodyStart;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
