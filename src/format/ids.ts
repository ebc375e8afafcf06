import { randomBytes } from 'node:crypto';

/** Pool, store and file ids are 16 random bytes, written as 32 lowercase hex digits. */
export const ID_BYTES = 16;
const ID_PATTERN = /^[0-9a-f]{32}$/;

export function newId(): string {
  return randomBytes(ID_BYTES).toString('hex');
}

export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

export function idToBytes(id: string): Buffer {
  if (!isId(id)) throw new Error(`not a 32-hex-digit id: ${id}`);
  return Buffer.from(id, 'hex');
}

/**
 * Sequence numbers order versions totally: milliseconds since the epoch in the high bits and 20
 * random bits below, so two writers in the same millisecond still get distinct numbers, and a
 * writer that must supersede `atLeastAbove` always does (clocks may step back).
 */
export function newSequence(atLeastAbove: bigint = 0n): bigint {
  const fromClock = (BigInt(Date.now()) << 20n) | BigInt(randomBytes(3).readUIntBE(0, 3) & 0xfffff);
  return fromClock > atLeastAbove ? fromClock : atLeastAbove + 1n;
}

export const MAX_SEQUENCE = (1n << 64n) - 1n;

export function parseSequence(text: string): bigint | undefined {
  if (!/^[0-9]{1,20}$/.test(text)) return undefined;
  const value = BigInt(text);
  return value <= MAX_SEQUENCE ? value : undefined;
}
