import { crc32 } from 'node:zlib';

/**
 * CRC-32 (IEEE 802.3, the zlib/PNG polynomial) of a byte range. Chosen for blocks because zlib's
 * implementation is the fastest hash measured here (docs/FORMAT.md §5 gives the figures), and it
 * detects every burst error up to 32 bits, which is
 * what torn sectors and bit rot look like; it is not a defence against a malicious writer.
 */
export function crc32Of(bytes: Uint8Array, initial = 0): number {
  return crc32(bytes, initial) >>> 0;
}

/**
 * Texts up to this many UTF-8 bytes are encoded into one reused buffer: a catalog record is
 * checksummed on every read, and a fresh Buffer per text cost 3x the CRC itself.
 */
const TEXT_SCRATCH_BYTES = 64 * 1024;
const textScratch = Buffer.allocUnsafe(TEXT_SCRATCH_BYTES);

export function crc32OfText(text: string): number {
  // A UTF-16 unit is at most 3 UTF-8 bytes, so this length surely fits the scratch buffer.
  if (text.length * 3 > TEXT_SCRATCH_BYTES) return crc32(Buffer.from(text, 'utf8')) >>> 0;
  const byteCount = textScratch.write(text, 0, 'utf8');
  return crc32(textScratch.subarray(0, byteCount)) >>> 0;
}

/** The reflected polynomial of CRC-32 (as zlib). */
const POLYNOMIAL = 0xedb88320;

/** a(x) * b(x) mod P(x), both reflected 32-bit polynomials (zlib's multmodp). */
function multiplyModP(a: number, b: number): number {
  let m = 0x80000000;
  let product = 0;
  let bb = b >>> 0;
  for (;;) {
    if ((a & m) !== 0) {
      product ^= bb;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    bb = (bb & 1) !== 0 ? (bb >>> 1) ^ POLYNOMIAL : bb >>> 1;
  }
  return product >>> 0;
}

/** X2N[n] = x^(2^n) mod P(x). */
const X2N = (() => {
  const table = new Uint32Array(32);
  let p = 0x40000000; // x^1
  table[0] = p;
  for (let n = 1; n < 32; n++) table[n] = p = multiplyModP(p, p);
  return table;
})();

/** x^(8 * bytes) mod P(x). */
function shiftBytes(bytes: number): number {
  let xp = 0x80000000; // x^0
  let k = 3;
  // The length is below 2^53; walk its bits without 32-bit truncation.
  for (let n = bytes; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) xp = multiplyModP(X2N[k & 31], xp);
  }
  return xp;
}

/**
 * CRC-32 of A followed by B, from crc(A), crc(B) and B's length (zlib's crc32_combine). Lets a
 * writer that already hashed each block derive the checksum of the blocks' concatenation without
 * hashing the bytes a second time; the work is O(log length), not O(length).
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multiplyModP(shiftBytes(lengthB), crcA >>> 0) ^ (crcB >>> 0)) >>> 0;
}
