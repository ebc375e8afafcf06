import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { errnoCode } from '../rain-error.js';

/**
 * A user-level index from pool names to store paths, so `-p NAME` works and a pool can still be
 * found when the store given on the command line has a damaged manifest. It is a convenience:
 * the stores' own manifests stay the truth.
 */
export function registryPath(): string {
  const base = process.env.RAIN_CONFIG_DIR
    ?? path.join(process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'rain');
  return path.join(base, 'pools.json');
}

export interface RegistryEntry {
  readonly name: string;
  readonly poolId: string;
  readonly storePaths: readonly string[];
}

export async function readRegistry(): Promise<RegistryEntry[]> {
  try {
    const parsed = JSON.parse(await fs.readFile(registryPath(), 'utf8')) as { pools?: RegistryEntry[] };
    return Array.isArray(parsed.pools) ? parsed.pools.filter((p) => typeof p.name === 'string' && Array.isArray(p.storePaths)) : [];
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || error instanceof SyntaxError) return [];
    throw error;
  }
}

/** Replaces the entry with the same pool id (or name); written with rename so readers never see half a file. */
export async function registerPool(entry: RegistryEntry): Promise<void> {
  const file = registryPath();
  await fs.mkdir(path.dirname(file), { recursive: true });
  const pools = (await readRegistry()).filter((p) => p.poolId !== entry.poolId && p.name !== entry.name);
  pools.push(entry);
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(temp, `${JSON.stringify({ pools }, null, 2)}\n`);
  await fs.rename(temp, file);
}

export async function findRegisteredPool(nameOrPath: string): Promise<RegistryEntry | undefined> {
  const pools = await readRegistry();
  const resolved = path.resolve(nameOrPath);
  return pools.find((p) => p.name === nameOrPath) ?? pools.find((p) => p.storePaths.includes(resolved));
}
