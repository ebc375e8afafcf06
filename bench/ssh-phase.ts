import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { onCleanup } from './cleanup.js';
import { totalBytesOf, type SourceFile } from './data-generator.js';
import { compareWithSource } from './file-digest.js';
import { startLoopbackSshd, sshdMissing, type LoopbackSshd } from '../test/helpers/loopback-sshd.js';
import type { Measurement } from './measurement.js';
import { getAllCommand, gotPath, PREFIX } from './rain-phases.js';
import { RainCli } from './rain-cli.js';
import { emptyDirectory } from './scratch-area.js';
import { lastLines } from './timed-command.js';
import { timeRainCommands, withNotes } from './timed-rain.js';

export interface SshPhaseContext {
  readonly repoRoot: string;
  /** A directory on disk for keys, configs and the pool registry of this phase. */
  readonly workDir: string;
  /** Directories for the k+m stores, on the same areas as the local pool's. */
  readonly storeDirs: readonly string[];
  readonly sourceDir: string;
  readonly sources: readonly SourceFile[];
  readonly outDir: string;
  readonly k: number;
  readonly m: number;
  readonly log: (text: string) => void;
}

export type SshPhaseResults =
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'ran'; readonly put: Measurement; readonly get: Measurement; readonly storeForm: string; readonly problems: string[] };

/**
 * rain with every store behind ssh://root@127.0.0.1:PORT/path, served by a private sshd on this
 * machine: the same files and the same tmpfs directories as the local pool, so the difference is
 * what the ssh transport (encryption, one connection per store, the remote rain process) costs.
 * The client reads its ssh options from RAIN_SSH_CONFIG (given to `ssh -F`) and runs
 * RAIN_REMOTE_COMMAND (this checkout's bin/rain) on the far side. Skipped, with the reason, when
 * no sshd can be started or when `rain init` does not accept ssh:// stores.
 */
export async function runSshPhase(ctx: SshPhaseContext): Promise<SshPhaseResults> {
  const missing = sshdMissing();
  if (missing) return { status: 'skipped', reason: missing };
  let sshd: LoopbackSshd;
  try {
    sshd = await startLoopbackSshd(path.join(ctx.workDir, 'sshd'), ctx.repoRoot, ctx.log);
  } catch (error) {
    return { status: 'skipped', reason: `the loopback sshd did not start: ${error instanceof Error ? error.message : String(error)}` };
  }
  const forget = onCleanup(`stop sshd on port ${sshd.port}`, () => sshd.stop());
  try {
    return await withSshd(ctx, sshd);
  } finally {
    forget();
    await sshd.stop();
    for (const dir of ctx.storeDirs) await fs.rm(dir, { recursive: true, force: true });
  }
}

async function withSshd(ctx: SshPhaseContext, sshd: LoopbackSshd): Promise<SshPhaseResults> {
  const configDir = path.join(ctx.workDir, 'rain-config');
  // An empty working directory: if rain took a URL for a relative path, what it made shows here.
  const cwd = path.join(ctx.workDir, 'cwd');
  await fs.mkdir(configDir, { recursive: true });
  await fs.mkdir(cwd, { recursive: true });
  const cli = new RainCli(ctx.repoRoot, configDir, { env: sshd.env, cwd });
  for (const dir of ctx.storeDirs) await fs.mkdir(dir, { recursive: true });
  const urls = ctx.storeDirs.map((dir) => `ssh://${sshd.user}@127.0.0.1:${sshd.port}${dir}`);
  const storeForm = `ssh://root@127.0.0.1:${sshd.port}/…`;

  ctx.log(`rain init over ${urls.length} ssh:// stores`);
  const init = await cli.run(['init', '-k', String(ctx.k), '-m', String(ctx.m), '--block-size', '1M', '--name', 'rain-bench-ssh', '--json', ...urls]);
  if (init.exitCode !== 0) {
    return { status: 'skipped', reason: `rain init does not accept ssh:// stores yet (exit ${init.exitCode ?? '?'}: ${lastLines(init.stderr, 1) || lastLines(init.stdout, 1)})` };
  }
  if (existsSync(path.join(cwd, 'ssh:'))) {
    return { status: 'skipped', reason: 'rain init took the ssh:// URLs for local relative paths (it made ./ssh:/...)' };
  }

  const problems: string[] = [];
  const userBytes = totalBytesOf(ctx.sources);
  // By name: the registry entry init wrote, however rain spells the stores inside it.
  const pool = 'rain-bench-ssh';
  ctx.log('rain put -r over ssh');
  const put = await timeRainCommands(cli, 'rain put, ssh:// stores', userBytes, [['put', '-p', pool, '-r', ctx.sourceDir, '--as', PREFIX, '--json']], [0], problems);
  let get: Measurement;
  if (put.measurement.ok) {
    ctx.log('rain get -r over ssh');
    // The same one command as the local get, so the ratio compares like with like.
    const run = await timeRainCommands(cli, 'rain get, ssh:// stores', userBytes, [getAllCommand(pool, ctx.outDir)], [0], problems);
    const failures: string[] = [];
    if (run.measurement.ok) {
      for (const source of ctx.sources) {
        const verdict = await compareWithSource(gotPath(ctx.outDir, source), source.sha256);
        if (verdict !== 'ok') failures.push(`${source.name}: ${verdict}`);
      }
    }
    await emptyDirectory(ctx.outDir);
    if (failures.length > 0) problems.push(`get over ssh: output differs: ${failures.join('; ')}`);
    get = withNotes(run.measurement, failures.length === 0, run.measurement.ok ? (failures.length === 0 ? 'sha256 matches the source' : 'OUTPUT DIFFERS') : 'failed');
  } else {
    get = { ...put.measurement, label: 'rain get, ssh:// stores', notes: ['not run: put failed'] };
  }
  const transport = `${urls.length} stores ${storeForm} in the same store directories as the local pool, sshd on this machine`;
  return { status: 'ran', put: withNotes(put.measurement, true, transport), get, storeForm, problems };
}
