import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { makeScratch, REPO_ROOT, seededBytes, type RainRun, type Scratch } from '../helpers/rain-cli.js';

/**
 * `npm run build` joins the CLI's and the worker's modules into one file each, because loading
 * ~50 modules in each of seven processes cost more than a small command's work. A bundle is run
 * only when it is newer than its entry module: a stale one would silently run old code. These
 * tests run a copy of the installation whose bundles are replaced by marker modules.
 */
describe('bundled entry points', () => {
  let scratch: Scratch;
  let install: string;
  const cliEntry = (): string => path.join(install, 'dist', 'cli', 'main.js');
  const workerEntry = (): string => path.join(install, 'dist', 'cluster', 'worker-main.js');

  beforeAll(async () => {
    scratch = await makeScratch('rain-bundles-');
  });
  afterAll(async () => scratch.cleanup());

  /** A fresh copy of the built installation for each test, so its bundles can be tampered with. */
  beforeEach(async () => {
    install = await fs.mkdtemp(path.join(scratch.root, 'install-'));
    for (const part of ['bin', 'dist', 'package.json']) await fs.cp(path.join(REPO_ROOT, part), path.join(install, part), { recursive: true, preserveTimestamps: true });
    await fs.symlink(path.join(REPO_ROOT, 'node_modules'), path.join(install, 'node_modules'));
  });

  function run(args: readonly string[]): Promise<RainRun> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(install, 'bin', 'rain'), ...args], { env: { ...process.env, ...scratch.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', reject);
      child.on('close', (code, signal) => {
        const stdoutBytes = Buffer.concat(out);
        resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
      });
    });
  }

  /** Replaces a bundle with a module that fails to load, written after its entry module. */
  async function plantMarker(entryPath: string, marker: string): Promise<void> {
    const bundlePath = entryPath.replace(/\.js$/, '.bundle.mjs');
    await fs.writeFile(bundlePath, `throw new Error(${JSON.stringify(marker)});\n`);
    const entryTime = (await fs.stat(entryPath)).mtime;
    await fs.utimes(bundlePath, entryTime, new Date(entryTime.getTime() + 1000));
  }

  /** Makes the entry module newer than its bundle, as a bare `tsc` after `npm run build` would. */
  async function outdateBundle(entryPath: string): Promise<void> {
    const bundleTime = (await fs.stat(entryPath.replace(/\.js$/, '.bundle.mjs'))).mtime;
    await fs.utimes(entryPath, bundleTime, new Date(bundleTime.getTime() + 1000));
  }

  it('the build writes both bundles after their entry modules', async () => {
    for (const entry of ['cli/main.js', 'cluster/worker-main.js']) {
      const entryPath = path.join(REPO_ROOT, 'dist', entry);
      const bundleStat = await fs.stat(entryPath.replace(/\.js$/, '.bundle.mjs'));
      expect(bundleStat.mtimeMs).toBeGreaterThanOrEqual((await fs.stat(entryPath)).mtimeMs);
    }
  });

  it('the CLI runs from its bundle, and from the modules once the bundle is older than them', async () => {
    await plantMarker(cliEntry(), 'loaded the CLI bundle');
    const fromBundle = await run(['--version']);
    expect(fromBundle.code).toBe(74);
    expect(fromBundle.stderr).toContain('loaded the CLI bundle');

    await outdateBundle(cliEntry());
    const fromModules = await run(['--version']);
    expect(fromModules.code).toBe(0);
    expect(fromModules.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('workers run from their bundle, and from the modules once the bundle is older than them', async () => {
    // The CLI runs from its own bundle here, which must find the worker from dist/cli/.
    const stores: string[] = [];
    for (let i = 0; i < 3; i++) stores.push(await scratch.dir(`store${i}`));
    expect((await run(['init', '-k', '2', '-m', '1', '--block-size', '4K', ...stores])).code).toBe(0);
    const source = path.join(scratch.root, 'f.bin');
    const bytes = seededBytes(20_000, 7);
    await fs.writeFile(source, bytes);

    await plantMarker(workerEntry(), 'loaded the worker bundle');
    const withMarker = await run(['put', '-p', stores[0], source]);
    expect(withMarker.code).toBe(74);
    expect(withMarker.stderr).toContain('loaded the worker bundle');

    await outdateBundle(workerEntry());
    expect((await run(['put', '-p', stores[0], source])).code).toBe(0);
    const back = await run(['get', '-p', stores[0], 'f.bin', '-o', '-']);
    expect(back.code).toBe(0);
    expect(back.stdoutBytes.equals(bytes)).toBe(true);
  });
});
