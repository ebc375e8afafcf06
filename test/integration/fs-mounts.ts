import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Small tmpfs mounts for tests that need a read-only or a full file system. Mounting needs root
 * (or CAP_SYS_ADMIN); when it is not possible, `mountTmpfs` says why instead of throwing, so the
 * caller can skip the case loudly. Every mount made here is remembered, so `unmountAll` in an
 * afterEach/afterAll releases them even when a test failed half-way.
 */
const mounted = new Set<string>();

export type MountResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export async function mountTmpfs(dir: string, options: string): Promise<MountResult> {
  try {
    await run('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
    mounted.add(dir);
    return { ok: true };
  } catch (error) {
    const e = error as { stderr?: string; message?: string };
    return { ok: false, reason: (e.stderr || e.message || String(error)).trim() };
  }
}

export async function unmount(dir: string): Promise<void> {
  if (!mounted.has(dir)) return;
  try {
    await run('umount', [dir]);
  } catch {
    // Still busy (a worker that has not exited yet): detach it lazily rather than leak it.
    await run('umount', ['-l', dir]).catch(() => undefined);
  }
  mounted.delete(dir);
}

export async function unmountAll(): Promise<void> {
  for (const dir of [...mounted].reverse()) await unmount(dir);
}

/** Logs why a mount-based case is skipped, so it never passes silently. */
export function skipBecause(what: string, result: { reason: string }): void {
  console.log(`SKIPPED ${what}: cannot mount tmpfs (${result.reason}); run the tests as root to cover it`);
}
