import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Data set (a): total user data, split over `files` files. */
  readonly sizeMiB: number;
  readonly files: number;
  /** Data set (a)'s floors and rain rows are measured this many times; each row keeps its fastest. */
  readonly passes: number;
  readonly k: number;
  readonly m: number;
  /** Data set (b): a tree of small files with seeded random sizes in [treeMinKiB, treeMaxKiB]. */
  readonly treeFiles: number;
  readonly treeMinKiB: number;
  readonly treeMaxKiB: number;
  readonly treeSeed: number;
  /** Data set (c), issues 17 and 18: a pool of this many small files (0: not run). */
  readonly names: number;
  /** --dir: run in this plain directory (no tmpfs mounts); undefined: one tmpfs per store. */
  readonly plainDir: string | undefined;
  /** The RSS sweep: peak RSS of put and get for a small and a large file. */
  readonly rssSmallMiB: number;
  readonly rssLargeMiB: number;
  readonly skipTree: boolean;
  readonly skipPeers: boolean;
  readonly skipSsh: boolean;
  readonly skipRssSweep: boolean;
  readonly keep: boolean;
  /** Rewrite docs/BENCHMARKS.md (false with --no-doc). */
  readonly writeDoc: boolean;
  /** How long each timed phase may wait for other processes to go quiet (0: never wait). */
  readonly quietWaitSeconds: number;
}

export const DEFAULTS = {
  sizeMiB: 2048, files: 8, passes: 3, k: 4, m: 2, treeFiles: 20000, treeMinKiB: 1, treeMaxKiB: 64, treeSeed: 6,
  rssSmallMiB: 16, rssLargeMiB: 8192, quietWaitSeconds: 10, names: 0,
} as const;

/** Data set (c)'s files: sizes uniform in this range (issue 17's "small files"), bytes from the seed. */
export const NAMES_SHAPE = { minBytes: 100, maxBytes: 4096, seed: 17 } as const;
/** The size of pool issues 17 and 18 set their targets for. */
export const NAMES_TARGET_FILES = 1_000_000;
/** The phase gets one file and removes another, from different directories' worth of files. */
const MIN_NAMES = 10;

export const USAGE = `usage: npm run bench -- [options]
Data set (a), large files:
  --size-mib N        total user data in MiB (default ${DEFAULTS.sizeMiB})
  --files N           split it into N files (default ${DEFAULTS.files})
  --passes N          measure its floors and rain rows N times, each row keeping its
                      fastest pass (default ${DEFAULTS.passes}; noise only ever adds time)
Data set (b), a tree of small files put with 'rain put -r':
  --tree-files N      number of files (default ${DEFAULTS.treeFiles})
  --tree-min-kib N    smallest file in KiB (default ${DEFAULTS.treeMinKiB})
  --tree-max-kib N    largest file in KiB (default ${DEFAULTS.treeMaxKiB})
  --tree-seed N       seed of the sizes, the directory shape and the bytes (default ${DEFAULTS.treeSeed})
  --skip-tree         do not run data set (b)
Data set (c), a pool of many small files (issues 17 and 18), off by default:
  --names N           N files of 100 B - 4 KiB, 1,000 per directory, put with one
                      'rain put -r'; then timed: ls (first line, whole list), sync of
                      the unchanged tree, get, put and rm of one file, with each
                      process's peak RSS (default ${DEFAULTS.names}: not run; issues 17 and 18 set
                      their targets for 1000000: about 10 minutes, 15 GB of tmpfs)
Pool and storage:
  -k N                data blocks per data set (default ${DEFAULTS.k})
  -m N                parity blocks per data set (default ${DEFAULTS.m})
  --dir PATH          run in a plain directory inside PATH, on whatever disk holds it
                      (default: every store directory is a tmpfs of its own, which needs root)
Peak-RSS sweep (put and get of a small and a large file):
  --rss-small-mib N   the small file (default ${DEFAULTS.rssSmallMiB})
  --rss-large-mib N   the large file (default ${DEFAULTS.rssLargeMiB}; halved until it and its pool fit:
                      on tmpfs in the memory available less 3 GiB, with --dir on the disk;
                      the report says what was used)
  --skip-rss-sweep    do not run the sweep
Other:
  --skip-peers        do not run snapraid, par2 or zfec
  --skip-ssh          do not run the ssh:// store phase
  --keep              keep the scratch directory (tmpfs mounts are still unmounted)
  --no-doc            do not rewrite docs/BENCHMARKS.md
  --quiet-wait S      before each timed phase, wait up to S seconds for other processes
                      to use < 0.15 cores (default ${DEFAULTS.quietWaitSeconds}; 0: do not wait)
  -h, --help          this text`;

export class UsageError extends Error {}

function integer(raw: string | undefined, fallback: number, flag: string, min: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`${flag} needs an integer >= ${min}, got '${raw}'`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`${flag} needs an integer >= ${min}, got '${raw}'`);
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
        passes: { type: 'string' },
        k: { type: 'string', short: 'k' },
        m: { type: 'string', short: 'm' },
        'tree-files': { type: 'string' },
        'tree-min-kib': { type: 'string' },
        'tree-max-kib': { type: 'string' },
        'tree-seed': { type: 'string' },
        'skip-tree': { type: 'boolean' },
        names: { type: 'string' },
        dir: { type: 'string' },
        'rss-small-mib': { type: 'string' },
        'rss-large-mib': { type: 'string' },
        'skip-rss-sweep': { type: 'boolean' },
        'skip-peers': { type: 'boolean' },
        'skip-ssh': { type: 'boolean' },
        keep: { type: 'boolean' },
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
    sizeMiB: integer(v['size-mib'], DEFAULTS.sizeMiB, '--size-mib', 1),
    files: integer(v.files, DEFAULTS.files, '--files', 1),
    passes: integer(v.passes, DEFAULTS.passes, '--passes', 1),
    k: integer(v.k, DEFAULTS.k, '-k', 1),
    m: integer(v.m, DEFAULTS.m, '-m', 1),
    treeFiles: integer(v['tree-files'], DEFAULTS.treeFiles, '--tree-files', 1),
    treeMinKiB: integer(v['tree-min-kib'], DEFAULTS.treeMinKiB, '--tree-min-kib', 1),
    treeMaxKiB: integer(v['tree-max-kib'], DEFAULTS.treeMaxKiB, '--tree-max-kib', 1),
    treeSeed: integer(v['tree-seed'], DEFAULTS.treeSeed, '--tree-seed', 0),
    skipTree: v['skip-tree'] === true,
    names: integer(v.names, DEFAULTS.names, '--names', 0),
    plainDir: v.dir,
    rssSmallMiB: integer(v['rss-small-mib'], DEFAULTS.rssSmallMiB, '--rss-small-mib', 1),
    rssLargeMiB: integer(v['rss-large-mib'], DEFAULTS.rssLargeMiB, '--rss-large-mib', 1),
    skipRssSweep: v['skip-rss-sweep'] === true,
    skipPeers: v['skip-peers'] === true,
    skipSsh: v['skip-ssh'] === true,
    keep: v.keep === true,
    writeDoc: v['no-doc'] !== true,
    quietWaitSeconds: integer(v['quiet-wait'], DEFAULTS.quietWaitSeconds, '--quiet-wait', 0),
  };
  if (options.files > options.sizeMiB * 1024) throw new UsageError('--files is larger than the data in KiB; use fewer files');
  if (options.names > 0 && options.names < MIN_NAMES) throw new UsageError(`--names needs 0 (not run) or at least ${MIN_NAMES} files, got ${options.names}`);
  if (options.treeMinKiB > options.treeMaxKiB) throw new UsageError('--tree-min-kib is larger than --tree-max-kib');
  if (options.rssSmallMiB >= options.rssLargeMiB) throw new UsageError('--rss-small-mib must be smaller than --rss-large-mib');
  return options;
}

/** The command line that repeats a run with these options (defaults left out). */
export function reproduceCommand(o: BenchOptions): string {
  const flags: string[] = [];
  const add = (flag: string, value: number, fallback: number): void => {
    if (value !== fallback) flags.push(`${flag} ${value}`);
  };
  add('--size-mib', o.sizeMiB, DEFAULTS.sizeMiB);
  add('--files', o.files, DEFAULTS.files);
  add('--passes', o.passes, DEFAULTS.passes);
  add('-k', o.k, DEFAULTS.k);
  add('-m', o.m, DEFAULTS.m);
  add('--tree-files', o.treeFiles, DEFAULTS.treeFiles);
  add('--tree-min-kib', o.treeMinKiB, DEFAULTS.treeMinKiB);
  add('--tree-max-kib', o.treeMaxKiB, DEFAULTS.treeMaxKiB);
  add('--tree-seed', o.treeSeed, DEFAULTS.treeSeed);
  add('--rss-small-mib', o.rssSmallMiB, DEFAULTS.rssSmallMiB);
  add('--rss-large-mib', o.rssLargeMiB, DEFAULTS.rssLargeMiB);
  add('--quiet-wait', o.quietWaitSeconds, DEFAULTS.quietWaitSeconds);
  add('--names', o.names, DEFAULTS.names);
  if (o.plainDir !== undefined) flags.push(`--dir ${o.plainDir}`);
  for (const [flag, set] of [['--skip-tree', o.skipTree], ['--skip-rss-sweep', o.skipRssSweep], ['--skip-peers', o.skipPeers], ['--skip-ssh', o.skipSsh]] as const) {
    if (set) flags.push(flag);
  }
  return ['npm run bench', ...(flags.length > 0 ? ['--', ...flags] : [])].join(' ');
}
