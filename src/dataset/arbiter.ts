import type { ReedSolomonCodec } from '../codec/reed-solomon.js';
import { crc32Combine, crc32Of } from '../format/checksum.js';

/**
 * Which blocks of a data set to believe (docs/FORMAT.md §5, "The data set checksum"). Every block
 * carries its own CRC-32, but a block can pass its own CRC and still hold the wrong bytes: a bug
 * that encoded the wrong data, a misdirected write, a block forged with recomputed CRCs. The
 * catalog's checksum of the data set's decoded bytes (CRC-32 of its L_d file bytes) is the
 * arbiter: data is returned, and a block rewritten, only from k blocks that decode to bytes with
 * that checksum. When data and parity disagree, the good blocks that differ from that data set's
 * codeword are the wrong ones, so a single bad block is located whatever m is.
 * A data set whose record carries no checksum (a version rolled forward by an older rain) is
 * judged by agreement instead: the codeword that the good blocks agree with, allowing at most
 * floor((g - k) / 2) of the g good blocks to differ (within that radius no other codeword can come
 * as close); past it nothing is believed.
 *
 * Pure: no I/O, and no allocation beyond the caller's scratch buffer.
 */
export interface ArbiterInput {
  readonly k: number;
  readonly m: number;
  /** Bytes of file data in the data set (L_d); the rest of the data shards is zero padding. */
  readonly dataBytes: number;
  /** k + m views of equal length; a block's bytes are valid where `good[b]`. */
  readonly shards: readonly Buffer[];
  /** The block passed its own checks (header, CRC) and its bytes are in `shards`. */
  readonly good: readonly boolean[];
  /** CRC-32 of each good block's payload as read (from its verified header); saves hashing again. */
  readonly payloadCrcs: readonly (number | undefined)[];
  /** The catalog's checksum of the data set (undefined: unknown, judge by agreement). */
  readonly expectedChecksum: number | undefined;
  /** Fill in parity blocks too (a check that may rewrite them); a read needs only the data. */
  readonly wantParity: boolean;
  readonly codec: ReedSolomonCodec;
  /** At least (k + m) shards' worth of bytes to decode candidates in. */
  readonly scratch: Buffer;
}

export type ArbiterVerdict =
  | {
    readonly kind: 'verified';
    /**
     * How the data was confirmed: its checksum matched; or (no checksum known) the good blocks
     * agree; or 'unchecked': no checksum and no parity was read to compare with (a plain read).
     */
    readonly by: 'checksum' | 'agreement' | 'unchecked';
    /** Good blocks whose bytes differ from the verified data set: corrupt although their own CRC passed. */
    readonly wrong: readonly number[];
    /** Checksum of the verified data (what the catalog should hold). */
    readonly checksum: number;
  }
  | { readonly kind: 'unverifiable'; readonly reason: string };

/** k-subsets tried at most before giving up on locating bad blocks (a large k + m has too many). */
export const MAX_CANDIDATES = 512;

/**
 * Decides what the data set is and which good blocks are wrong. On 'verified', every data shard
 * (and with wantParity every parity shard) that was not good or is wrong holds the verified
 * codeword's bytes afterwards, so the caller returns the data and rewrites exactly those blocks.
 */
export function arbitrate(input: ArbiterInput): ArbiterVerdict {
  const { k, m, shards, good } = input;
  const width = k + m;
  const shardBytes = shards[0].length;
  if (input.scratch.length < width * shardBytes) throw new Error('arbiter scratch smaller than a data set');
  const goodIndexes = Array.from({ length: width }, (_, b) => b).filter((b) => good[b]);
  if (goodIndexes.length < k) return { kind: 'unverifiable', reason: `only ${goodIndexes.length} of the ${k} blocks needed read good` };
  const known = input.expectedChecksum !== undefined;
  const scratch = Array.from({ length: width }, (_, b) => input.scratch.subarray(b * shardBytes, (b + 1) * shardBytes));

  // The healthy path: every data block is good, and (known) its bytes have the checksum, or
  // (unknown) the good parity blocks agree with them.
  if (goodIndexes.slice(0, k).every((b, i) => b === i)) {
    const checksum = dataChecksum(input, shards.slice(0, k), input.payloadCrcs);
    const goodParity = goodIndexes.filter((b) => b >= k);
    const parityNeeded = goodParity.length > 0 || (input.wantParity && goodParity.length < m);
    const parity = scratch.slice(0, m);
    if (parityNeeded) input.codec.encode(shards.slice(0, k), parity);
    const disagreeing = goodParity.filter((b) => !parity[b - k].equals(shards[b]));
    if (known ? checksum === input.expectedChecksum && paddingIsZero(input, shards) : disagreeing.length === 0) {
      if (input.wantParity) for (let b = k; b < width; b++) if (!good[b] || disagreeing.includes(b)) parity[b - k].copy(shards[b]);
      const by = known ? 'checksum' : goodParity.length > 0 ? 'agreement' : 'unchecked';
      return { kind: 'verified', by, wrong: disagreeing, checksum };
    }
  }

  // Search: drop ever more of the good blocks and decode from k of the rest, until a candidate
  // reproduces the checksum (known) or the best-agreeing candidate is found (unknown).
  let tried = 0;
  let best: { agreeing: number; survivors: number[] } | undefined;
  for (let drop = 0; goodIndexes.length - drop >= k; drop++) {
    for (const dropped of combinations(goodIndexes, drop)) {
      if (++tried > MAX_CANDIDATES) {
        return { kind: 'unverifiable', reason: `blocks disagree and none of the first ${MAX_CANDIDATES} combinations of k good blocks ${known ? 'reproduces the data set checksum' : 'is agreed on'}` };
      }
      const survivors = goodIndexes.filter((b) => !dropped.includes(b)).slice(0, k);
      if (known) {
        // Only the data positions decide the checksum; parity is decoded only for the winner.
        decodeCandidate(input, scratch, survivors, range(0, k));
        const checksum = dataChecksum(input, scratch.slice(0, k), input.payloadCrcs.map((crc, b) => (survivors.includes(b) ? crc : undefined)));
        if (checksum !== input.expectedChecksum || !paddingIsZero(input, scratch)) continue;
        decodeCandidate(input, scratch, survivors, range(k, width));
        return adopt(input, scratch, goodIndexes, 'checksum', checksum);
      }
      decodeCandidate(input, scratch, survivors, range(0, width));
      const agreeing = goodIndexes.filter((b) => scratch[b].equals(shards[b])).length;
      if (!best || agreeing > best.agreeing) best = { agreeing, survivors };
      if (agreeing === goodIndexes.length) break;
    }
    if (!known && best?.agreeing === goodIndexes.length) break;
  }
  if (known) return { kind: 'unverifiable', reason: 'no set of k good blocks decodes to the data set checksum in the catalog' };
  if (!best || goodIndexes.length - best.agreeing > Math.floor((goodIndexes.length - k) / 2)) {
    return { kind: 'unverifiable', reason: 'the blocks disagree and, with no data set checksum in the catalog, nothing tells which are wrong' };
  }
  decodeCandidate(input, scratch, best.survivors, range(0, width));
  return adopt(input, scratch, goodIndexes, 'agreement', dataChecksum(input, scratch.slice(0, k), []));
}

/** Copies a believed candidate codeword over every shard that was not good or disagrees with it. */
function adopt(input: ArbiterInput, candidate: readonly Buffer[], goodIndexes: readonly number[], by: 'checksum' | 'agreement', checksum: number): ArbiterVerdict {
  const wrong = goodIndexes.filter((b) => !candidate[b].equals(input.shards[b]));
  const filled = input.wantParity ? input.shards.length : input.k;
  for (let b = 0; b < filled; b++) if (!input.good[b] || wrong.includes(b)) candidate[b].copy(input.shards[b]);
  return { kind: 'verified', by, wrong, checksum };
}

/**
 * Fills `candidate[p]` for each position p in `positions` with the codeword decoded from exactly
 * the k blocks `survivors`; a survivor's own position gets a copy of its bytes.
 */
function decodeCandidate(input: ArbiterInput, candidate: Buffer[], survivors: readonly number[], positions: readonly number[]): void {
  const width = input.k + input.m;
  const present = Array.from({ length: width }, (_, b) => survivors.includes(b));
  const views = candidate.map((scratch, b) => (present[b] ? input.shards[b] : scratch));
  input.codec.reconstruct(views, present, positions.filter((p) => !present[p]));
  for (const p of positions) if (present[p]) input.shards[p].copy(candidate[p]);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/**
 * The checksum covers the data set's L_d file bytes; the data shards' bytes after them are zero
 * padding by definition (docs/FORMAT.md §5), and parity is computed over them too, so a block
 * whose padding is not zero is as wrong as one whose data is.
 */
export function paddingIsZero(input: Pick<ArbiterInput, 'k' | 'dataBytes'>, shards: readonly Buffer[]): boolean {
  const shardBytes = shards[0].length;
  for (let b = Math.floor(input.dataBytes / shardBytes); b < input.k; b++) {
    const from = Math.max(0, input.dataBytes - b * shardBytes);
    if (from < shardBytes && !isZero(shards[b].subarray(from))) return false;
  }
  return true;
}

function isZero(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * CRC-32 of the data set's L_d file bytes, given its k data shards. For a full data set (the data
 * shards end to end, no padding) the shards' own CRCs, where known, are combined in O(log n)
 * instead of hashing the bytes again; a short last data set is hashed directly.
 */
export function dataChecksum(input: Pick<ArbiterInput, 'k' | 'dataBytes'>, dataShards: readonly Buffer[], knownCrcs: readonly (number | undefined)[]): number {
  const shardBytes = dataShards[0].length;
  if (input.dataBytes === input.k * shardBytes) {
    let crc = 0;
    for (let b = 0; b < input.k; b++) {
      const blockCrc = knownCrcs[b] ?? crc32Of(dataShards[b]);
      crc = b === 0 ? blockCrc : crc32Combine(crc, blockCrc, shardBytes);
    }
    return crc;
  }
  let crc = 0;
  let left = input.dataBytes;
  for (let b = 0; b < input.k && left > 0; b++) {
    const take = Math.min(shardBytes, left);
    crc = crc32Of(dataShards[b].subarray(0, take), crc);
    left -= take;
  }
  return crc;
}

/** Every `size`-element subset of `items`, in lexicographic order of positions. */
export function* combinations<T>(items: readonly T[], size: number): Generator<T[]> {
  if (size > items.length) return;
  const picked: number[] = Array.from({ length: size }, (_, i) => i);
  for (;;) {
    yield picked.map((i) => items[i]);
    let i = size - 1;
    while (i >= 0 && picked[i] === items.length - size + i) i--;
    if (i < 0) return;
    picked[i]++;
    for (let j = i + 1; j < size; j++) picked[j] = picked[j - 1] + 1;
  }
}
