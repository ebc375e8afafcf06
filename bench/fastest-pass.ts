import type { Measurement } from './measurement.js';
import type { FloorResults } from './results.js';
import type { RainResults } from './rain-phases.js';

/**
 * The fastest successful pass of one row, with the other passes' times in its notes. On a shared
 * machine another tenant's load only ever adds time, so the fastest pass is the best estimate of
 * what the code does; floors and rain are treated alike, so their ratios stay fair.
 */
export function fastestOf(passes: readonly Measurement[]): Measurement {
  if (passes.length <= 1) return passes[0];
  const ok = passes.filter((m) => m.ok && Number.isFinite(m.seconds));
  if (ok.length === 0) return passes[0];
  const best = ok.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const times = passes.map((m) => (m.ok && Number.isFinite(m.seconds) ? `${m.seconds.toFixed(2)} s` : 'failed')).join(', ');
  return { ...best, notes: [...best.notes, `fastest of ${passes.length} passes (${times})`] };
}

function fastestFields<T extends object>(passes: readonly T[], fields: readonly (keyof T)[]): T {
  const result = { ...passes[0] };
  for (const field of fields) {
    (result as Record<keyof T, unknown>)[field] = fastestOf(passes.map((p) => p[field] as Measurement));
  }
  return result;
}

export function fastestFloors(passes: readonly FloorResults[]): FloorResults | undefined {
  if (passes.length === 0) return undefined;
  return fastestFields(passes, ['write', 'blockFiles', 'blockFilesRead', 'streams', 'readToFile', 'readOnly', 'verify', 'rebuild']);
}

/** Every pass's problems count: a wrong byte in any pass is a wrong byte. */
export function fastestRain(passes: readonly RainResults[]): RainResults | undefined {
  if (passes.length === 0) return undefined;
  const merged = fastestFields(passes, ['put', 'get', 'degradedGet', 'verify', 'rebuild']);
  return { ...merged, problems: [...new Set(passes.flatMap((p) => p.problems))] };
}
