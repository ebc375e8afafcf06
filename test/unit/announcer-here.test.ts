import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { announcerHere, processNamespace, processStartOf, readIntents, removeDeadIntents, writeIntent } from '../../src/store/writer-intents.js';

/** Liveness of an announcement's process on this machine: a real child process, stopped, replaced, gone. */
describe('announcerHere', () => {
  const namespace = processNamespace();
  const linux = namespace !== undefined;

  (linux ? it : it.skip)('a process that runs, even stopped, is running; another start or no process is gone; elsewhere is unknown', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const pid = child.pid as number;
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      const pidStart = processStartOf(pid);
      expect(pidStart).toMatch(/^\d+$/);
      expect(announcerHere({ pid, namespace, pidStart })).toBe('running');
      process.kill(pid, 'SIGSTOP');
      expect(announcerHere({ pid, namespace, pidStart })).toBe('running');
      process.kill(pid, 'SIGCONT');
      // The same pid with another start is a later process given the number.
      expect(announcerHere({ pid, namespace, pidStart: `${BigInt(pidStart as string) + 1n}` })).toBe('gone');
      // Without a start, or from another namespace, or with odd fields, only the heartbeat can tell.
      expect(announcerHere({ pid, namespace })).toBe('unknown');
      expect(announcerHere({ pid, namespace: `${namespace}x`, pidStart })).toBe('unknown');
      expect(announcerHere({ pid: String(pid), namespace, pidStart })).toBe('unknown');
      expect(announcerHere({ pid: 1, namespace, pidStart })).toBe('unknown');
    } finally {
      child.kill('SIGKILL');
    }
    await exited;
    expect(announcerHere({ pid, namespace, pidStart: '1' })).toBe('gone');
    expect(announcerHere({ pid, namespace })).toBe('gone');
  });

  (linux ? it : it.skip)('a check\'s clean-up keeps the long-silent announcement of a process that still runs here, and removes a dead one', async () => {
    const store = await fs.mkdtemp(path.join(os.tmpdir(), 'rain-intents-'));
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      const pid = child.pid as number;
      const old = Date.now() - 2 * 60 * 60 * 1000;
      const versions = [{ fileId: 'a'.repeat(32), sequence: '1' }];
      await writeIntent(store, 'writer', '1'.repeat(32), { writerId: '1'.repeat(32), pid, host: os.hostname(), namespace, pidStart: processStartOf(pid), at: old, versions });
      await writeIntent(store, 'writer', '2'.repeat(32), { writerId: '2'.repeat(32), pid, host: os.hostname(), namespace, pidStart: '1', at: old, versions });
      expect(await removeDeadIntents(store, 60 * 60 * 1000)).toBe(1);
      expect((await readIntents(store)).map((i) => i.writerId)).toEqual(['1'.repeat(32)]);
    } finally {
      child.kill('SIGKILL');
      await exited;
      await fs.rm(store, { recursive: true, force: true });
    }
  });
});
