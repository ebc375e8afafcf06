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

export function unsealJson(text: string): Unsealed {
  const match = /^\{"crc32":(\d{1,10}),"body":([\s\S]*)\}\n?$/.exec(text);
  if (!match) return { ok: false, reason: 'not a sealed rain record' };
  const bodyText = match[2];
  if (crc32OfText(bodyText) !== Number(match[1])) return { ok: false, reason: 'checksum mismatch' };
  try {
    return { ok: true, body: JSON.parse(bodyText) as unknown };
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
