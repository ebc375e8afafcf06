/**
 * Time limits of the agreement (docs/PROTOCOL.md). The environment overrides exist so tests can
 * provoke "abandoned" and "still running" without waiting minutes; users rarely need them.
 */
function fromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/** How often a running check or writer rewrites its heartbeat. */
export const HEARTBEAT_INTERVAL_MS = fromEnv('RAIN_HEARTBEAT_MS', 1000);
/** A heartbeat older than this means its owner is dead: its check or its writes are abandoned. */
export function staleAfterMs(): number {
  return fromEnv('RAIN_STALE_AFTER_MS', 10_000);
}
/** How long put/get/rm/verify wait for a running check before giving up with exit 74. */
export function waitForActiveMs(): number {
  return fromEnv('RAIN_WAIT_MS', 120_000);
}
