import { execFileSync } from 'node:child_process';

/** strace is there to count a command's system calls or processes (.ci/run installs it; a test without it says SKIPPED). */
export function hasStrace(): boolean {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
