import type { Command } from 'commander';
import { initPool } from '../../ops/init-pool.js';
import { ExitCode } from '../exit-codes.js';
import { runCommand, withCommonOptions } from '../command-runner.js';
import { formatBytes } from '../output.js';
import { parseCount, parseSize } from '../size-option.js';

export function registerInit(program: Command): void {
  withCommonOptions(program.command('init')
    .description('create a pool over STORE directories (one block of every data set per store)')
    .requiredOption('-k <K>', 'data blocks per data set')
    .requiredOption('-m <M>', 'checksum (parity) blocks per data set: how many stores may be lost')
    .option('--block-size <SIZE>', 'bytes per block (4K..64M, multiple of 16)', '1M')
    .option('--name <NAME>', 'a name for the pool, usable with -p')
    .argument('<STORE...>', 'existing directories, ideally on different disks'), false)
    .action(async (stores: string[], flags: { k: string; m: string; blockSize: string; name?: string; json?: boolean; quiet?: boolean }) => {
      await runCommand(flags, async (out) => {
        const { manifest, warnings, usableBytes } = await initPool({
          k: parseCount(flags.k, '-k'), m: parseCount(flags.m, '-m'),
          blockSizeBytes: parseSize(flags.blockSize, '--block-size'), name: flags.name, storePaths: stores,
        });
        for (const warning of warnings) out.notice(`warning: ${warning}`);
        out.document({
          ok: true,
          pool: { name: manifest.name, poolId: manifest.poolId, k: manifest.k, m: manifest.m, blockSizeBytes: manifest.blockSizeBytes, stores: manifest.stores },
          usableBytes: usableBytes ?? null, warnings,
        });
        out.line(`created pool ${out.color.bold(manifest.name)}: ${manifest.k}+${manifest.m}, ${formatBytes(manifest.blockSizeBytes)} blocks, ${manifest.stores.length} stores`);
        if (usableBytes !== undefined) {
          out.line(`usable capacity about ${formatBytes(usableBytes)} of files (${manifest.stores.length} stores x the smallest one's free space x ${manifest.k}/${manifest.k + manifest.m})`);
        }
        out.line(`any ${manifest.m} of the stores may be lost; use -p ${manifest.name} or -p ${manifest.stores[0].path}`);
        return ExitCode.ok;
      });
    });
}
