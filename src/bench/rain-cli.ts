import { existsSync } from 'node:fs';
import path from 'node:path';
import { runTimed, type CommandRun } from './timed-command.js';

/**
 * Runs the real CLI (`node bin/rain ...`) as a user would, with its own pool registry
 * (RAIN_CONFIG_DIR) so the bench never touches the user's, and RAIN_POOL unset.
 */
export class RainCli {
  private readonly script: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(repoRoot: string, configDir: string) {
    this.script = path.join(repoRoot, 'bin', 'rain');
    if (!existsSync(this.script)) throw new Error(`${this.script} not found`);
    if (!existsSync(path.join(repoRoot, 'dist', 'cli', 'main.js'))) throw new Error('dist/cli/main.js not found: run npm run build');
    const env: NodeJS.ProcessEnv = { ...process.env, RAIN_CONFIG_DIR: configDir, NO_COLOR: '1' };
    delete env.RAIN_POOL;
    this.env = env;
  }

  run(args: readonly string[], sampleRss = false): Promise<CommandRun> {
    return runTimed(process.execPath, [this.script, ...args], { env: this.env, sampleRss });
  }
}

/** rain --json prints one document on stdout; undefined when it did not (a crash). */
export function jsonOf(run: CommandRun): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(run.stdout);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function numberField(doc: Record<string, unknown> | undefined, key: string): number | undefined {
  const value = doc?.[key];
  return typeof value === 'number' ? value : undefined;
}
