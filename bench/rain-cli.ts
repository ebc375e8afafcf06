import { existsSync } from 'node:fs';
import path from 'node:path';
import { runTimed, type CommandRun } from './timed-command.js';

export interface RainCliOptions {
  /** Extra environment (the ssh phase's RAIN_SSH_CONFIG and RAIN_REMOTE_COMMAND). */
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory of every command (default: the bench's). */
  readonly cwd?: string;
}

/**
 * Runs the real CLI (`node bin/rain ...`) as a user would, with its own pool registry
 * (RAIN_CONFIG_DIR) so the bench never touches the user's, and RAIN_POOL unset.
 */
export class RainCli {
  readonly script: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly cwd: string | undefined;

  constructor(repoRoot: string, configDir: string, options: RainCliOptions = {}) {
    this.script = path.join(repoRoot, 'bin', 'rain');
    if (!existsSync(this.script)) throw new Error(`${this.script} not found`);
    if (!existsSync(path.join(repoRoot, 'dist', 'cli', 'main.js'))) throw new Error('dist/cli/main.js not found: run npm run build');
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, RAIN_CONFIG_DIR: configDir, NO_COLOR: '1' };
    delete env.RAIN_POOL;
    this.env = env;
    this.cwd = options.cwd;
  }

  run(args: readonly string[], sampleRss = false, onStdout?: (chunk: Buffer) => void): Promise<CommandRun> {
    return runTimed(process.execPath, [this.script, ...args], { env: this.env, cwd: this.cwd, sampleRss, onStdout });
  }
}

/** rain --json prints one document on stdout; undefined when it did not (a crash, or a cut tail). */
export function jsonOf(stdout: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(stdout);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function numberField(doc: Record<string, unknown> | undefined, key: string): number | undefined {
  const value = doc?.[key];
  return typeof value === 'number' ? value : undefined;
}

/** A nested object of a --json document (get -r's totals). */
export function objectField(doc: Record<string, unknown> | undefined, key: string): Record<string, unknown> | undefined {
  const value = doc?.[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Sum of a numeric field over the `files` array of a --json document (put's data sets, rebuild's blocks). */
export function sumOverFiles(stdout: string, key: string): number | undefined {
  const files = jsonOf(stdout)?.files;
  if (!Array.isArray(files)) return undefined;
  return files.reduce((n: number, f: unknown) => n + (typeof f === 'object' && f !== null ? (numberField(f as Record<string, unknown>, key) ?? 0) : 0), 0);
}
