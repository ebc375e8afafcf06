/**
 * Epochs number the pool's agreements (docs/PROTOCOL.md). Every completed check adds one, so a
 * real pool never comes near the bound; it exists so that a number found in a file name or a
 * manifest is parsed exactly and every epoch + 1 stays an exact integer in JavaScript.
 * Written as decimal digits without a sign or leading zeros.
 */
export const MAX_EPOCH = 2 ** 48 - 1;

export function parseEpoch(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,14}$/.test(text)) return undefined;
  const epoch = Number(text);
  return epoch <= MAX_EPOCH ? epoch : undefined;
}

export function isEpoch(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= MAX_EPOCH;
}
