import type { HealthSummary } from '../dataset/health-tally.js';
import type { LastCheck } from '../format/manifest.js';
import type { StoreReportEntry } from '../ops/store-problem.js';
import { MetricSet } from './metrics-file.js';

/**
 * What a report command exports with --metrics-file (docs/USER-GUIDE.md "Running from cron").
 * Health and results are numbers with the same meaning as the exit codes: 0 healthy, 1 degraded
 * (repairable), 2 lost or unavailable; the verdict also rides along as a label for dashboards.
 */
export const HEALTH_CODE: Record<string, number> = { healthy: 0, degraded: 1, lost: 2, unavailable: 2 };

export interface ReportFacts {
  readonly pool: string;
  readonly command: string;
  readonly exitCode: number;
  readonly durationMs: number;
  readonly finishedAtMs: number;
  readonly verdict?: string;
  readonly stores?: readonly (StoreReportEntry & { readonly totalBytes?: number; readonly freeBytes?: number })[];
  /** Files and bytes stored (status counts them from the catalog; verify and check from the files they checked). */
  readonly storedFiles?: number;
  readonly storedBytes?: number;
  /** The counts over every file the command checked (verify, check, rebuild). */
  readonly health?: HealthSummary;
  readonly lastCheck?: LastCheck;
  /** Data sets this command checked, and what it found (verify and check; for check/rebuild the same as lastCheck). */
  readonly datasets?: { readonly checked: number; readonly lost: number; readonly repairedBlocks: number };
}

export function reportMetrics(facts: ReportFacts): MetricSet {
  const base = { pool: facts.pool, command: facts.command };
  const metrics = new MetricSet();
  metrics.add('rain_command_success', 'gauge', 'Whether the command ran to its end and found the pool healthy (exit code 0): 1 or 0.', facts.exitCode === 0 ? 1 : 0, base);
  metrics.add('rain_command_exit_code', 'gauge', 'The exit code of the command (0 healthy, 1 repairable, 2 data lost, 64 usage, 65 bad input, 74 I/O failure).', facts.exitCode, base);
  metrics.add('rain_command_duration_seconds', 'gauge', 'How long the command ran.', facts.durationMs / 1000, base);
  metrics.add('rain_command_last_run_timestamp_seconds', 'gauge', 'When the command finished (Unix time).', Math.round(facts.finishedAtMs / 1000), base);
  if (facts.verdict !== undefined) {
    metrics.add('rain_pool_health', 'gauge', 'Pool health as the command saw it: 0 healthy, 1 degraded (repairable), 2 lost or unavailable; the verdict is also a label.',
      HEALTH_CODE[facts.verdict] ?? 2, { ...base, verdict: facts.verdict });
  }
  for (const s of facts.stores ?? []) {
    const labels = { ...base, slot: String(s.slot), path: s.path };
    metrics.add('rain_store_online', 'gauge', 'Whether the store is online (readable and writable, 1) or not (0); state is online, read-only, missing, empty, foreign or unreadable.',
      s.condition === 'online' ? 1 : 0, { ...labels, state: s.condition });
  }
  for (const s of facts.stores ?? []) if (s.totalBytes !== undefined) metrics.add('rain_store_size_bytes', 'gauge', 'Size of the file system holding the store.', s.totalBytes, { ...base, slot: String(s.slot), path: s.path });
  for (const s of facts.stores ?? []) if (s.freeBytes !== undefined) metrics.add('rain_store_free_bytes', 'gauge', 'Free space on the file system holding the store.', s.freeBytes, { ...base, slot: String(s.slot), path: s.path });
  const health = facts.health;
  const storedFiles = facts.storedFiles ?? (health ? health.files - health.states.superseded : undefined);
  const storedBytes = facts.storedBytes ?? health?.sizeBytes;
  if (storedFiles !== undefined) metrics.add('rain_stored_files', 'gauge', 'Files stored in the pool.', storedFiles, base);
  if (storedBytes !== undefined) metrics.add('rain_stored_bytes', 'gauge', 'Bytes of file data stored in the pool (before erasure coding).', storedBytes, base);
  if (health) {
    for (const state of ['healthy', 'degraded', 'lost'] as const) {
      metrics.add('rain_files', 'gauge', 'Files by health after the command (state healthy, degraded or lost).', health.states[state], { ...base, state });
    }
  }
  if (facts.datasets) {
    metrics.add('rain_datasets_checked', 'gauge', 'Data sets the command checked.', facts.datasets.checked, base);
    metrics.add('rain_datasets_lost', 'gauge', 'Data sets found with fewer than k good blocks.', facts.datasets.lost, base);
    metrics.add('rain_blocks_repaired', 'gauge', 'Blocks the command rewrote and verified (0 for verify, which repairs nothing).', facts.datasets.repairedBlocks, base);
  }
  if (facts.lastCheck) {
    const finishedMs = Date.parse(facts.lastCheck.finishedAt);
    if (Number.isFinite(finishedMs)) metrics.add('rain_last_check_timestamp_seconds', 'gauge', 'When the last pool check (check or rebuild) finished (Unix time).', Math.round(finishedMs / 1000), base);
    metrics.add('rain_last_check_result', 'gauge', 'Verdict of the last pool check: 0 healthy, 1 degraded, 2 lost; the verdict is also a label.',
      HEALTH_CODE[facts.lastCheck.verdict] ?? 2, { ...base, verdict: facts.lastCheck.verdict });
  }
  return metrics;
}
