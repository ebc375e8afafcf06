import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { expect } from '@jest/globals';
import type { RainRun } from './rain-cli.js';

export function stderrLines(run: RainRun): string[] {
  return run.stderr.split('\n').filter((line) => line.trim() !== '');
}

/** The failure contract: this exit code, exactly one stderr line, "rain: " first, naming the problem. */
export function expectOneErrorLine(run: RainRun, code: number, mentions: RegExp): void {
  const lines = stderrLines(run);
  expect({ code: run.code, lines }).toEqual({ code, lines: [expect.stringMatching(/^rain: \S/)] });
  expect(lines[0]).toMatch(mentions);
}

/** Shows stderr in the failure message, which is what one needs to see when the code is wrong. */
export function expectExit(run: RainRun, code: number): void {
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code, stderr: expect.any(String) });
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Every entry under `root` (relative path -> 'dir', link target or content hash), to prove nothing changed. */
export async function snapshotTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(dir: string): Promise<void> {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const rel = path.relative(root, full);
      if (entry.isDirectory()) {
        out[`${rel}/`] = 'dir';
        await walk(full);
      } else if (entry.isSymbolicLink()) {
        out[rel] = `link:${await fs.readlink(full)}`;
      } else {
        out[rel] = sha256(await fs.readFile(full));
      }
    }
  }
  await walk(root);
  return out;
}

/** Every regular file under `root`, by slash-separated relative path, with its bytes. */
export async function filesUnder(root: string): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  async function walk(dir: string, prefix: string): Promise<void> {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full, `${prefix}${entry.name}/`);
      else found.set(`${prefix}${entry.name}`, await fs.readFile(full));
    }
  }
  await walk(root, '');
  return found;
}
