import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { BUNDLED_ENTRIES, bundleOf } from './bundle-paths.js';

/**
 * The last step of `npm run build`: rain's own compiled modules, for the CLI and for the worker,
 * each joined into one file. Every command starts a coordinator and one node process per store,
 * and resolving, reading and compiling rain's many small ES modules cost each of them nearly as
 * much CPU as node's own start (docs/PERFORMANCE.md §1 has the figures). Packages in node_modules stay
 * outside (loading them was cheap, and CommonJS ones must not be wrapped).
 */
async function main(): Promise<void> {
  const distRoot = fileURLToPath(new URL('../', import.meta.url));
  for (const entry of BUNDLED_ENTRIES) {
    await build({
      entryPoints: [distRoot + entry],
      outfile: bundleOf(distRoot + entry),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      // The bundle's stack traces point into src/ through tsc's maps (node --enable-source-maps).
      sourcemap: 'linked',
      logLevel: 'warning',
    });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bundle: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
