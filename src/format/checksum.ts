import { crc32 } from 'node:zlib';

/**
 * CRC-32 (IEEE 802.3, the zlib/PNG polynomial) of a byte range. Chosen for blocks because zlib's
 * implementation runs at ~5 GB/s here, and it detects every burst error up to 32 bits, which is
 * what torn sectors and bit rot look like; it is not a defence against a malicious writer.
 */
export function crc32Of(bytes: Uint8Array, initial = 0): number {
  return crc32(bytes, initial) >>> 0;
}

export function crc32OfText(text: string): number {
  return crc32(Buffer.from(text, 'utf8')) >>> 0;
}
