import type { Command } from 'commander';
import { getFile } from '../../ops/get-file.js';
import { getTree } from '../../ops/get-tree.js';
import { usageError } from '../../rain-error.js';
import { ExitCode, exitCodeOf, type ExitCodeValue } from '../exit-codes.js';
import { runCommand, withCommonOptions } from '../command-runner.js';
import { formatBytes, formatRate, type Output } from '../output.js';

interface GetFlags {
  pool?: string;
  output?: string;
  recursive?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function registerGet(program: Command): void {
  withCommonOptions(program.command('get')
    .description("decode a file; '-o -' or a pipe without -o writes to stdout; -r gets every file under a prefix")
    .argument('<NAME>', "name in the pool; with -r a prefix ('.' for the whole pool)")
    .option('-o, --output <DEST>', "destination file or directory, or '-' for stdout; with -r a directory (required)")
    .option('-r, --recursive', 'get NAME and every file under NAME/ into -o DIR, each at DIR/<its name>'))
    .action(async (name: string, flags: GetFlags) => {
      await runCommand(flags, async (out) => (flags.recursive ? getTreeCommand(out, name, flags) : getOneFile(out, name, flags)));
    });
}

async function getOneFile(out: Output, name: string, flags: GetFlags): Promise<ExitCodeValue> {
  const toStdout = flags.output === '-' || (flags.output === undefined && process.stdout.isTTY !== true);
  if (toStdout && flags.json) throw usageError('--json needs -o DEST (stdout carries the file)');
  const report = await getFile({
    pool: flags.pool, name,
    destination: toStdout ? { kind: 'stdout' } : { kind: 'path', path: flags.output ?? '.' },
    onProgress: toStdout ? undefined : out.progress(`getting ${name}`),
  });
  out.stopProgress();
  for (const lost of report.workersLost) out.notice(`${lost}; its blocks were read around`);
  if (report.replacedWhileRead) out.notice(`${name} was replaced by a newer version while being read; this is the version that was current when the get started`);
  if (report.reconstructedDatasets > 0) {
    out.notice(`${name}: reconstructed ${report.reconstructedDatasets} data sets from parity (${report.badBlocks.length} blocks missing or bad); run 'rain rebuild'`);
  }
  out.document({ ok: true, ...report });
  if (!toStdout) out.line(`wrote ${report.destination} (${formatBytes(report.sizeBytes)})`);
  return report.reconstructedDatasets > 0 ? ExitCode.repairable : ExitCode.ok;
}

async function getTreeCommand(out: Output, prefix: string, flags: GetFlags): Promise<ExitCodeValue> {
  if (flags.output === undefined || flags.output === '-') throw usageError('get -r needs -o DIR (standard output cannot carry a tree)');
  const started = Date.now();
  const report = await getTree({ pool: flags.pool, prefix, outputDir: flags.output, onProgress: out.progress(`getting ${prefix}`) });
  out.stopProgress();
  const durationMs = Date.now() - started;
  const written = report.files.filter((f) => f.outcome === 'written');
  const writtenBytes = written.reduce((sum, f) => sum + f.sizeBytes, 0);
  // Files of one pack share its data set: its reconstruction and bad blocks count once.
  const counted = new Set<string>();
  const once = report.files.filter((f) => f.pack === undefined || (!counted.has(f.pack) && counted.add(f.pack) !== undefined));
  const reconstructedDatasets = once.reduce((sum, f) => sum + f.reconstructedDatasets, 0);
  const badBlocks = once.reduce((sum, f) => sum + f.badBlocks, 0);
  for (const lost of report.workersLost) out.notice(`${lost}; its blocks were read around`);
  for (const file of report.files) {
    if (file.outcome === 'lost') out.problem(`${file.name}: data lost, not written: ${file.error ?? ''}`);
    if (file.outcome === 'removed') out.notice(`${file.name}: ${file.error ?? 'removed'}; not written`);
    if (file.outcome === 'refused') out.problem(`${file.name}: not written: ${file.error ?? ''}`);
  }
  if (reconstructedDatasets > 0) {
    const files = written.filter((f) => f.reconstructedDatasets > 0).length;
    out.notice(`reconstructed ${reconstructedDatasets} data sets of ${files} files from parity (${badBlocks} blocks missing or bad); run 'rain rebuild'`);
  }
  // The worst outcome decides: a lost file is 2, a file read around bad blocks is 1.
  const exitCode = exitCodeOf({
    lost: report.files.some((f) => f.outcome === 'lost'),
    problems: report.files.some((f) => f.reconstructedDatasets > 0 || f.outcome === 'refused'),
  });
  const lost = report.files.filter((f) => f.outcome === 'lost').length;
  out.document({
    ok: lost === 0, exitCode, prefix: report.prefix, destination: report.outputDir, durationMs,
    totals: {
      files: report.files.length, written: written.length, lost, removed: report.files.filter((f) => f.outcome === 'removed').length,
      refused: report.files.filter((f) => f.outcome === 'refused').length, directories: report.directories,
      sizeBytes: writtenBytes, reconstructedDatasets, badBlocks,
    },
    files: report.files, workersLost: report.workersLost,
  });
  const of = written.length < report.files.length ? ` of ${report.files.length}` : '';
  out.line(`wrote ${written.length}${of} files to ${report.outputDir}: ${formatBytes(writtenBytes)} (${formatRate(writtenBytes, durationMs)})`);
  return exitCode;
}
