import { topCandidate } from '../../format/rendezvous.js';

/**
 * Which worker is responsible for a data set (M4, M6): rendezvous hashing of the data set's id
 * over the slots of the workers taking part. Every process computes the same answer from the
 * same membership, and losing one worker moves only the data sets it held (about 1/n).
 */
export function responsibleSlot(fileId: string, datasetIndex: number, workerSlots: readonly number[]): number {
  return topCandidate(`resp:${fileId}/${datasetIndex}`, workerSlots);
}

/** The responsible worker of an uncommitted version as a whole (roll forward or back is one decision). */
export function responsibleSlotForVersion(fileId: string, sequence: bigint, workerSlots: readonly number[]): number {
  return topCandidate(`resp:${fileId}@${sequence}`, workerSlots);
}
