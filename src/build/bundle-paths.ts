import { statSync } from 'node:fs';

/**
 * rain's entry modules in dist/ that `npm run build` also joins into one file each (bundle.ts).
 * bin/rain and workerScriptPath load them through preferBundle.
 */
export const BUNDLED_ENTRIES = ['cli/main.js', 'cluster/worker-main.js'] as const;

export function bundleOf(entryPath: string): string {
  return entryPath.replace(/\.js$/, '.bundle.mjs');
}

/**
 * The bundle when it was written after its entry module, else the modules themselves: a bare
 * `tsc` rewrites every module but not the bundles, and a stale bundle would run old code.
 */
export function preferBundle(entryPath: string): string {
  const bundlePath = bundleOf(entryPath);
  try {
    if (statSync(bundlePath).mtimeMs >= statSync(entryPath).mtimeMs) return bundlePath;
  } catch {
    // no bundle (or no entry): load the modules
  }
  return entryPath;
}
