import type { Command } from 'commander';
import { listFiles, type ListedFile, type ListedHealth } from '../../ops/list-files.js';
import { ExitCode } from '../exit-codes.js';
import { runCommand, withCommonOptions } from '../command-runner.js';
import { LineWriter } from '../line-writer.js';
import { formatBytes, type Output } from '../output.js';

export function registerLs(program: Command): void {
  withCommonOptions(program.command('ls')
    .description('list names, sizes and health (health from store availability; verify reads blocks)')
    .argument('[PREFIX]', 'only names starting with PREFIX'))
    .action(async (prefix: string | undefined, flags: { pool?: string; json?: boolean; quiet?: boolean }) => {
      await runCommand(flags, async (out) => {
        const listing = await listFiles({ pool: flags.pool, prefix });
        const writer = new LineWriter();
        const totals = { files: 0, bytes: 0, directories: 0, degraded: 0, unavailable: 0 };
        const count = (file: ListedFile): void => {
          totals.files++;
          totals.bytes += file.sizeBytes;
          if (file.health === 'degraded') totals.degraded++;
          if (file.health === 'unavailable') totals.unavailable++;
        };
        if (out.json) await writeJson(listing.poolName, listing.entries, writer, count);
        else await writeRows(out, listing.entries, writer, count, () => totals.directories++);
        if (!out.json && !out.quiet) {
          await writer.write(`${totals.files} files, ${formatBytes(totals.bytes)}${totals.directories > 0 ? `, ${totals.directories} directories` : ''}\n`);
        }
        await writer.flush();
        if (listing.unreadable.length > 0 && !writer.closed) {
          // A damaged copy read from another store costs nothing, but a name whose every copy is damaged is not listed.
          out.problem(`${listing.unreadable.length} catalog files (or lines of them) could not be read, e.g. ${listing.unreadable[0]}; a name may be missing from this list: 'rain verify' reports them, 'rain check' rewrites them from the other stores`);
        }
        if (totals.unavailable > 0) return ExitCode.dataLost;
        return totals.degraded > 0 ? ExitCode.repairable : ExitCode.ok;
      });
    });
}

/**
 * Rows as the catalog streams them, in name order: fixed-width columns and the name last (as
 * `ls -l`), so nothing waits for the widest name; directories inline with a trailing slash.
 */
async function writeRows(
  out: Output, entries: Iterable<{ directory: false; file: ListedFile } | { directory: true; name: string }>, writer: LineWriter,
  count: (file: ListedFile) => void, countDirectory: () => void,
): Promise<void> {
  const paint = (h: ListedHealth, text: string): string => (h === 'ok' ? out.color.green(text) : h === 'degraded' ? out.color.yellow(text) : out.color.red(text));
  const row = (size: string, datasets: string, health: ListedHealth, name: string): string =>
    `${size.padStart(SIZE_WIDTH)}  ${datasets.padStart(DATASETS_WIDTH)}  ${paint(health, health.padEnd(HEALTH_WIDTH))}  ${name}\n`;
  const quiet = out.quiet;
  if (!quiet) await writer.write(`${'size'.padStart(SIZE_WIDTH)}  ${'data sets'.padStart(DATASETS_WIDTH)}  ${'health'.padEnd(HEALTH_WIDTH)}  name\n`);
  for (const entry of entries) {
    if (writer.closed) return;
    if (entry.directory) {
      countDirectory();
      if (!quiet) await writer.write(row('-', '0', 'ok', `${entry.name}/`));
      continue;
    }
    const f = entry.file;
    count(f);
    if (!quiet) await writer.write(row(formatBytes(f.sizeBytes), String(f.datasets), f.health, f.kind === 'symlink' ? `${f.name} -> ${f.target ?? ''}` : f.name));
  }
}

/** The one JSON document `{ok, pool, files, directories}`, written as the files stream (directories kept until the end). */
async function writeJson(
  poolName: string, entries: Iterable<{ directory: false; file: ListedFile } | { directory: true; name: string }>, writer: LineWriter,
  count: (file: ListedFile) => void,
): Promise<void> {
  const directories: string[] = [];
  await writer.write(`{\n  "ok": true,\n  "pool": ${JSON.stringify(poolName)},\n  "files": [`);
  let first = true;
  for (const entry of entries) {
    if (writer.closed) return;
    if (entry.directory) {
      directories.push(entry.name);
      continue;
    }
    count(entry.file);
    await writer.write(`${first ? '' : ','}\n    ${JSON.stringify(entry.file)}`);
    first = false;
  }
  await writer.write(`${first ? '' : '\n  '}],\n  "directories": ${JSON.stringify(directories)}\n}\n`);
}

/** "1023.9 MiB" is the widest size formatBytes gives. */
const SIZE_WIDTH = 10;
const DATASETS_WIDTH = 9;
/** "unavailable" */
const HEALTH_WIDTH = 11;
