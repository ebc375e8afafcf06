/**
 * A store's state (open-pool.ts StoreCondition: online, read-only, missing, empty, foreign,
 * unreadable). Taken as a string here so this module needs nothing from open-pool.ts, which
 * uses it: a state added there reads as itself, with its detail as the cause.
 */
type StoreCondition = string;

/** A store as reports show it: where it is and what state it was found in. */
export interface StoreReportEntry {
  readonly slot: number;
  readonly path: string;
  readonly condition: StoreCondition;
  /** The cause in words ("directory not found", "disk full (ENOSPC)"), when it is not online. */
  readonly detail?: string;
}

/**
 * The one place a store's trouble becomes words, so status, verify, check, rebuild and the
 * messages about blocks not written all say the same thing: its state, then the cause as the
 * operating system gave it (errno codes in words: rain-error.ts errnoWords).
 */
export function storeCause(store: Pick<StoreReportEntry, 'condition' | 'detail'>): string {
  if (store.detail !== undefined && store.detail !== '') return store.detail;
  switch (store.condition) {
    case 'missing': return 'directory not found';
    case 'read-only': return 'not writable';
    case 'empty': return 'no rain store here (emptied or re-created)';
    case 'foreign': return 'holds another store';
    case 'unreadable': return 'cannot be read';
    default: return 'online';
  }
}

/** "store 1 (/mnt/d2): missing, directory not found". */
export function describeStoreProblem(store: StoreReportEntry): string {
  return `store ${store.slot} (${store.path}): ${store.condition}, ${storeCause(store)}`;
}

/** Why blocks on a store that is not online were neither written nor repaired ("missing: directory not found"). */
export function storeUnusableWhy(store: Pick<StoreReportEntry, 'condition' | 'detail'>): string {
  return `${store.condition}: ${storeCause(store)}`;
}

/** What the operator does about a store in this state (a command to run, in words). */
export function nextStepForStore(store: StoreReportEntry): string {
  const replace = `or move the slot to a new directory: rain rebuild --replace ${store.slot}=NEWDIR`;
  switch (store.condition) {
    case 'missing': return `mount its disk or create the directory (mkdir -p ${store.path}), then run 'rain rebuild'; ${replace}`;
    case 'empty': return `run 'rain rebuild' to refill it`;
    case 'read-only': return `make it writable again (remount read-write, fix permissions or free space), then run 'rain check'`;
    case 'foreign': return `mount the right disk at ${store.path}; ${replace}`;
    case 'unreadable': return `fix the disk, mount or permissions, then run 'rain rebuild'; ${replace}`;
    default: return '';
  }
}

/** The stores of an opened pool as reports carry them (no sizes or identities: what an operator acts on). */
export function reportedStores(stores: readonly StoreReportEntry[]): StoreReportEntry[] {
  return stores.map((s) => ({ slot: s.slot, path: s.path, condition: s.condition, ...(s.condition === 'online' ? {} : { detail: storeCause(s) }) }));
}
