import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { onCleanup } from './cleanup.js';
import { which } from './peers/peer-report.js';

const run = promisify(execFile);
export const SSHD = '/usr/sbin/sshd';

export interface LoopbackSshd {
  readonly port: number;
  /** A client config for `ssh -F`: host 127.0.0.1 on our port, our key, our known_hosts, batch mode. */
  readonly clientConfig: string;
  readonly user: string;
  stop(): Promise<void>;
}

/** Why no loopback sshd can be started here, or undefined when it can. */
export function sshdMissing(): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} not found (apt-get install openssh-server)`;
  if (!which('ssh') || !which('ssh-keygen')) return 'ssh or ssh-keygen not found (apt-get install openssh-client)';
  if (process.getuid?.() !== 0) return 'not root: the loopback sshd logs in as root';
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

/**
 * Starts a private sshd on 127.0.0.1 for the ssh:// store phase: its own host key and user key
 * (generated into `dir`), its own port, config and pid file, so it neither needs nor touches the
 * machine's ssh set-up. The client side gets a config with the host key pinned
 * (StrictHostKeyChecking yes) and BatchMode, so nothing can prompt. Stopped at exit in every case.
 */
export async function startLoopbackSshd(dir: string, log: (text: string) => void): Promise<LoopbackSshd> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const hostKey = path.join(dir, 'host_ed25519');
  const userKey = path.join(dir, 'user_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'rain-bench-host', '-f', hostKey]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'rain-bench-user', '-f', userKey]);
  const authorizedKeys = path.join(dir, 'authorized_keys');
  await fs.copyFile(`${userKey}.pub`, authorizedKeys);
  const port = await freePort();
  const knownHosts = path.join(dir, 'known_hosts');
  const hostPublic = (await fs.readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  await fs.writeFile(knownHosts, `[127.0.0.1]:${port} ${hostPublic}\n`);
  const serverConfig = path.join(dir, 'sshd_config');
  await fs.writeFile(serverConfig, [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `AuthorizedKeysFile ${authorizedKeys}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    'UsePAM no',
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    // rain opens one connection per store at once (and workers may open more).
    'MaxStartups 64',
    'MaxSessions 64',
    'LogLevel ERROR',
    '',
  ].join('\n'));
  const clientConfig = path.join(dir, 'ssh_config');
  await fs.writeFile(clientConfig, [
    'Host 127.0.0.1',
    '  HostName 127.0.0.1',
    `  Port ${port}`,
    '  User root',
    `  IdentityFile ${userKey}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${knownHosts}`,
    '  StrictHostKeyChecking yes',
    '  BatchMode yes',
    '  LogLevel ERROR',
    '',
  ].join('\n'));
  // sshd refuses to start without its privilege-separation directory, which only the
  // openssh-server service normally creates.
  await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', serverConfig], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
  let exited = false;
  child.once('exit', () => { exited = true; });
  const stop = async (): Promise<void> => {
    if (exited || child.pid === undefined) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 3000))]);
    if (!exited) child.kill('SIGKILL');
  };
  const forget = onCleanup(`stop sshd on port ${port}`, stop);

  // Ready when a real login works: the port being open is not enough (keys, config).
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) {
      forget();
      throw new Error(`sshd exited at start: ${stderr.trim().split('\n').slice(-2).join(' | ') || 'no message'}`);
    }
    const probe = await run('ssh', ['-F', clientConfig, '127.0.0.1', 'true']).then(() => '', (error: unknown) => (error instanceof Error ? error.message : String(error)));
    if (probe === '') break;
    if (Date.now() > deadline) {
      forget();
      await stop();
      throw new Error(`cannot log in to the loopback sshd: ${probe.trim().split('\n').slice(-1)[0] ?? ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  log(`sshd listening on 127.0.0.1:${port}`);
  return {
    port, clientConfig, user: 'root',
    stop: async () => {
      forget();
      await stop();
    },
  };
}
