import { randomBytes } from 'node:crypto';

/** Pool, store and file ids are 16 random bytes, written as 32 lowercase hex digits. */
export const ID_BYTES = 16;
const ID_PATTERN = /^[0-9a-f]{32}$/;

/**
 * Random bytes drawn 4 KiB at a time: a put of 50,000 small files draws two ids' worth per file,
 * and one system call per draw was 5 % of its coordinator's time (docs/BENCHMARKS.md). Each byte
 * is handed out once.
 */
const RANDOM_POOL_BYTES = 4096;
let randomPool = Buffer.alloc(0);
let randomPoolOffset = 0;

function freshRandom(byteCount: number): Buffer {
  if (randomPoolOffset + byteCount > randomPool.length) {
    randomPool = randomBytes(RANDOM_POOL_BYTES);
    randomPoolOffset = 0;
  }
  const bytes = randomPool.subarray(randomPoolOffset, randomPoolOffset + byteCount);
  randomPoolOffset += byteCount;
  return bytes;
}

export function newId(): string {
  return freshRandom(ID_BYTES).toString('hex');
}

export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

export function idToBytes(id: string): Buffer {
  if (!isId(id)) throw new Error(`not a 32-hex-digit id: ${id}`);
  return Buffer.from(id, 'hex');
}

const RANDOM_BITS = 20n;
const RANDOM_MASK = (1n << RANDOM_BITS) - 1n;

/**
 * Sequence numbers order versions totally: milliseconds since the epoch in the high bits and 20
 * fresh random bits below, so two writers in the same millisecond still get distinct numbers. A
 * writer that must supersede `atLeastAbove` always does, even when that version was stamped by a
 * clock ahead of this one: it then takes the next millisecond after it, still with random low
 * bits, so two writers replacing the same record both supersede it and still differ from each
 * other (a deterministic "+1" would give both the same sequence).
 */
export function newSequence(atLeastAbove: bigint = 0n): bigint {
  const random = BigInt(freshRandom(3).readUIntBE(0, 3)) & RANDOM_MASK;
  const milliseconds = BigInt(Date.now());
  const floor = (atLeastAbove >> RANDOM_BITS) + 1n;
  const sequence = ((milliseconds > floor ? milliseconds : floor) << RANDOM_BITS) | random;
  if (sequence > MAX_SEQUENCE) throw new Error('sequence numbers exhausted (a clock or record from the far future)');
  return sequence;
}

export const MAX_SEQUENCE = (1n << 64n) - 1n;

export function parseSequence(text: string): bigint | undefined {
  if (!/^[0-9]{1,20}$/.test(text)) return undefined;
  const value = BigInt(text);
  return value <= MAX_SEQUENCE ? value : undefined;
}
