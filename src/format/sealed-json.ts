import { crc32OfText } from './checksum.js';

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

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
