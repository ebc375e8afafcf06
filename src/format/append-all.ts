/**
 * Appends every item to `target`. `target.push(...items)` passes each item as an argument, and V8
 * throws "Maximum call stack size exceeded" past about 125,000 of them: a store's catalog scan of
 * a pool of 200,000 files failed that way, was taken for an unreadable store, and every command
 * then saw an empty catalog (a sync re-added the whole tree). Anything that can grow with the
 * pool is appended with this.
 */
export function appendAll<T>(target: T[], items: Iterable<T>): T[] {
  for (const item of items) target.push(item);
  return target;
}
