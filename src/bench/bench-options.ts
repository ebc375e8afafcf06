import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Total user data, split over `files` files. */
  readonly sizeMiB: number;
  readonly files: number;
  readonly k: number;
  readonly m: number;
  /** A parent directory for the bench's scratch directory (default: the OS temp dir). */
  readonly parentDir: string | undefined;
  readonly keep: boolean;
  readonly skipPeers: boolean;
  /** Rewrite docs/BENCHMARKS.md (false with --no-doc). */
  readonly writeDoc: boolean;
  /** How long each timed phase may wait for other processes to go quiet (0: never wait). */
  readonly quietWaitSeconds: number;
}

export const USAGE = `usage: npm run bench -- [options]
  --size-mib N   total user data in MiB (default 1024)
  --files N      split the data into N files (default 1)
  -k N           data blocks per data set (default 4)
  -m N           parity blocks per data set (default 2)
  --dir PATH     create the scratch directory inside PATH (default: the OS temp dir)
  --keep         keep the scratch directory afterwards
  --skip-peers   do not run snapraid, par2 or zfec
  --no-doc       do not rewrite docs/BENCHMARKS.md
  --quiet-wait S before each timed phase, wait up to S seconds for other processes
                 to use < 0.15 cores (default 60; 0: do not wait)
  -h, --help     this text`;

export class UsageError extends Error {}

function positiveInteger(raw: string | undefined, fallback: number, flag: string): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`${flag} needs a positive integer, got '${raw}'`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`${flag} needs a positive integer, got '${raw}'`);
  return value;
}

/** Returns undefined when help was asked for. */
export function parseBenchOptions(argv: readonly string[]): BenchOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'size-mib': { type: 'string' },
        files: { type: 'string' },
        k: { type: 'string', short: 'k' },
        m: { type: 'string', short: 'm' },
        dir: { type: 'string' },
        keep: { type: 'boolean' },
        'skip-peers': { type: 'boolean' },
        'no-doc': { type: 'boolean' },
        'quiet-wait': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const v = parsed.values;
  if (v.help === true) return undefined;
  const options: BenchOptions = {
    sizeMiB: positiveInteger(v['size-mib'], 1024, '--size-mib'),
    files: positiveInteger(v.files, 1, '--files'),
    k: positiveInteger(v.k, 4, '-k'),
    m: positiveInteger(v.m, 2, '-m'),
    parentDir: v.dir,
    keep: v.keep === true,
    skipPeers: v['skip-peers'] === true,
    writeDoc: v['no-doc'] !== true,
    quietWaitSeconds: v['quiet-wait'] === '0' ? 0 : positiveInteger(v['quiet-wait'], 60, '--quiet-wait'),
  };
  if (options.files > options.sizeMiB * 1024) throw new UsageError('--files is larger than the data in KiB; use fewer files');
  return options;
}
