import { rankCandidates } from './rendezvous.js';

/**
 * Which store slot holds block b of data set d: the k+m highest-ranked slots for the key
 * "fileId/d", in rank order. With exactly k+m stores this is a per-data-set permutation, so
 * parity spreads over every store; with more stores it declusters (a rebuild reads from all).
 * Depends only on the manifest's slot list, never on which stores are up, so it never moves.
 */
export function placeDataset(fileId: string, datasetIndex: number, slots: readonly number[], blocksPerDataset: number): number[] {
  if (slots.length < blocksPerDataset) {
    throw new Error(`placement needs ${blocksPerDataset} slots, the pool has ${slots.length}`);
  }
  return rankCandidates(`place:${fileId}/${datasetIndex}`, slots).slice(0, blocksPerDataset);
}
