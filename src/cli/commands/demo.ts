import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { getFile } from '../../ops/get-file.js';
import { initPool } from '../../ops/init-pool.js';
import { putFiles } from '../../ops/put-files.js';
import { rebuildPool } from '../../ops/rebuild-pool.js';
import { verifyPool } from '../../ops/verify-pool.js';
import { dataLostError, ioError } from '../../rain-error.js';
import { ExitCode, exitCodeOfVerdict } from '../exit-codes.js';
import { runCommand } from '../command-runner.js';
import { formatBytes } from '../output.js';

/**
 * The tour in one command: a 4+2 pool over six temporary directories, a file in, two stores
 * destroyed, the file back out byte for byte, verify, rebuild onto new directories, verify again.
 */
export function registerDemo(program: Command): void {
  program.command('demo')
    .description('run the built-in demo on temporary directories (nothing outside them is touched)')
    .option('--size <MiB>', 'size of the demo file in MiB', '24')
    .option('--keep', 'keep the temporary directories for a look around')
    .option('-q, --quiet', 'print nothing but errors')
    .action(async (flags: { size: string; keep?: boolean; quiet?: boolean }) => {
      await runCommand(flags, async (out) => {
        const root = await fs.mkdtemp(path.join(os.tmpdir(), 'rain-demo-'));
        // The demo registers its pool in its own directory, never in the user's list of pools.
        process.env.RAIN_CONFIG_DIR = path.join(root, 'config');
        try {
          const stores = await Promise.all(Array.from({ length: 6 }, async (_, i) => {
            const dir = path.join(root, `disk${i + 1}`);
            await fs.mkdir(dir);
            return dir;
          }));
          const step = (text: string) => out.line(`${out.color.cyan('==>')} ${text}`);
          step(`rain init -k 4 -m 2 ${stores.map((s) => path.basename(s)).join(' ')}   (in ${root})`);
          await initPool({ k: 4, m: 2, storePaths: stores, name: 'demo' });

          const source = path.join(root, 'photos.tar');
          const sizeBytes = Math.max(1, Number(flags.size)) * 1024 * 1024 + 12345;
          await fs.writeFile(source, randomBytes(sizeBytes));
          const sourceHash = await sha256(source);
          step(`rain put photos.tar   (${formatBytes(sizeBytes)}, sha256 ${sourceHash.slice(0, 16)}...)`);
          await putFiles({ pool: stores[0], source });

          step(`disk3 and disk5 die: rm -rf ${stores[2]} ${stores[4]}`);
          await fs.rm(stores[2], { recursive: true });
          await fs.rm(stores[4], { recursive: true });

          const restored = path.join(root, 'photos.restored.tar');
          step('rain get photos.tar -o photos.restored.tar   (two of six stores gone)');
          const got = await getFile({ pool: stores[0], name: 'photos.tar', destination: { kind: 'path', path: restored } });
          const restoredHash = await sha256(restored);
          out.line(`    reconstructed ${got.reconstructedDatasets} data sets from parity; sha256 ${restoredHash.slice(0, 16)}... ${restoredHash === sourceHash ? out.color.green('identical') : out.color.red('DIFFERENT')}`);
          if (restoredHash !== sourceHash) throw dataLostError('demo: the restored file differs from the original');

          step('rain verify');
          const before = await verifyPool({ pool: stores[0] });
          out.line(`    verdict: ${before.verdict} (exit ${exitCodeOfVerdict(before.verdict)}); ${before.storeProblems.length} stores missing`);

          const fresh3 = path.join(root, 'disk3-new');
          const fresh5 = path.join(root, 'disk5-new');
          await fs.mkdir(fresh3);
          await fs.mkdir(fresh5);
          step(`rain rebuild --replace ${stores[2]}=disk3-new --replace ${stores[4]}=disk5-new`);
          const rebuilt = await rebuildPool({ pool: stores[0], replace: [`${stores[2]}=${fresh3}`, `${stores[4]}=${fresh5}`] });
          for (const action of [...rebuilt.rebuildActions, ...rebuilt.actions]) out.line(`    ${action}`);
          out.line(`    ${rebuilt.lastCheck.repairedBlocks} blocks rebuilt and verified by ${rebuilt.workers.length} workers in parallel; pool active at epoch ${rebuilt.epoch}`);

          step('rain verify');
          const after = await verifyPool({ pool: stores[0] });
          out.line(`    verdict: ${after.verdict === 'healthy' ? out.color.green(after.verdict) : out.color.red(after.verdict)} (exit ${exitCodeOfVerdict(after.verdict)})`);
          if (after.verdict !== 'healthy') throw ioError('demo: the pool is not healthy after rebuild');
          out.line(flags.keep ? `kept ${root}` : 'demo finished; temporary directories removed');
          return ExitCode.ok;
        } finally {
          if (!flags.keep) await fs.rm(root, { recursive: true, force: true });
        }
      });
    });
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await fs.open(file, 'r');
  try {
    for await (const chunk of handle.createReadStream()) hash.update(chunk as Buffer);
  } finally {
    await handle.close().catch(() => undefined);
  }
  return hash.digest('hex');
}
