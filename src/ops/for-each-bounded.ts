/** Runs `body` over `items` with at most `limit` running at once (lanes that each take the next item). */
export async function forEachBounded<T>(items: readonly T[], limit: number, body: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await body(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
