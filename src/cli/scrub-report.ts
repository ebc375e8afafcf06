import type { LastCheck } from '../format/manifest.js';
import type { ScrubAgeBucket, ScrubCoverage } from '../ops/scrub-selection.js';

const BAR_WIDTH = 40;

/** "verified 5.0% of data sets (412 of 8,240), oldest first; the oldest left unverified was verified 19 days ago". */
export function describeCoverage(coverage: ScrubCoverage, nowMs: number): string {
  const share = coverage.totalDatasets === 0 ? 100 : (coverage.selectedDatasets / coverage.totalDatasets) * 100;
  const parts = [`verified ${share.toFixed(1)}% of data sets (${count(coverage.selectedDatasets)} of ${count(coverage.totalDatasets)})`];
  if (coverage.olderThanDays !== undefined) {
    parts.push(`${count(coverage.eligibleDatasets)} last verified more than ${coverage.olderThanDays} days ago or never`);
  }
  const left = coverage.oldestLeftVerifiedAtMs;
  const tail = left === undefined
    ? (coverage.olderThanDays === undefined ? 'none left unverified' : 'none of those left unverified')
    : left === null ? 'the oldest left unverified was never verified' : `the oldest left unverified was verified ${ago(nowMs - left)}`;
  return `${parts.join(', ')}, oldest first; ${tail}`;
}

/**
 * The scrub-age histogram of `status`, plain text (cron mails it): one line per age bucket, its
 * count and a bar of '#' scaled to the largest bucket.
 */
export function scrubHistogramLines(buckets: readonly ScrubAgeBucket[]): string[] {
  const most = Math.max(1, ...buckets.map((b) => b.datasets));
  const total = buckets.reduce((sum, b) => sum + b.datasets, 0);
  const labelWidth = Math.max(...buckets.map((b) => b.label.length));
  const countWidth = Math.max(...buckets.map((b) => count(b.datasets).length));
  const lines = [`data sets by time since last verified (${count(total)} in all):`];
  for (const b of buckets) {
    const bar = '#'.repeat(b.datasets === 0 ? 0 : Math.max(1, Math.round((b.datasets / most) * BAR_WIDTH)));
    lines.push(`  ${b.label.padEnd(labelWidth)}  ${count(b.datasets).padStart(countWidth)}  ${bar}`.trimEnd());
  }
  return lines;
}

/** "last check: 2026-12-03T08:00:00.000Z (3 hours ago), healthy, 5.0% of data sets" or that there was none. */
export function describeLastCheck(lastCheck: LastCheck | undefined, nowMs: number): string {
  if (!lastCheck) return "last check: never (run 'rain check')";
  const at = Date.parse(lastCheck.finishedAt);
  const when = Number.isFinite(at) ? `${lastCheck.finishedAt} (${ago(nowMs - at)})` : lastCheck.finishedAt;
  const scope = lastCheck.scope
    ? `${count(lastCheck.datasets)} of ${count(lastCheck.scope.totalDatasets)} data sets`
    : `all ${count(lastCheck.datasets)} data sets`;
  return `last check: ${when}, ${lastCheck.verdict}, ${scope}, ${lastCheck.repairedBlocks} blocks repaired, ${lastCheck.lostDatasets} data sets lost`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function ago(ms: number): string {
  const minutes = Math.max(0, ms) / 60_000;
  if (minutes < 1) return 'just now';
  if (minutes < 120) return plural(Math.floor(minutes), 'minute');
  const hours = minutes / 60;
  if (hours < 48) return plural(Math.floor(hours), 'hour');
  return plural(Math.floor(hours / 24), 'day');
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'} ago`;
}
