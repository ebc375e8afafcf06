/**
 * Rendezvous (highest-random-weight) hashing: every process that knows the same key and the same
 * candidate list computes the same ranking, and removing one candidate moves only the keys it
 * ranked first. Used for block placement (format) and worker responsibility (cluster).
 */

/** 32-bit FNV-1a over a string's UTF-16 code units, then a murmur3 finaliser to spread the bits. */
export function hash32(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Candidates ordered by descending weight for `key`; ties (astronomically rare) break by candidate. */
export function rankCandidates(key: string, candidates: readonly number[]): number[] {
  const keyHash = hash32(key);
  const weighted = candidates.map((candidate) => ({ candidate, weight: hash32(`${candidate}`, keyHash) }));
  weighted.sort((a, b) => b.weight - a.weight || a.candidate - b.candidate);
  return weighted.map((w) => w.candidate);
}

export function topCandidate(key: string, candidates: readonly number[]): number {
  if (candidates.length === 0) throw new Error('rendezvous over no candidates');
  const keyHash = hash32(key);
  let best = candidates[0];
  let bestWeight = -1;
  for (const candidate of candidates) {
    const weight = hash32(`${candidate}`, keyHash);
    if (weight > bestWeight || (weight === bestWeight && candidate < best)) {
      best = candidate;
      bestWeight = weight;
    }
  }
  return best;
}
