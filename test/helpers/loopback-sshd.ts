import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * A real sshd on 127.0.0.1 for tests: its own host key, a client key made for the test, an
 * unprivileged port, and a client config that rain's ssh picks up through RAIN_SSH_CONFIG.
 * "localhost" and "127.0.0.1" are both known hosts, so a test can use them as two hosts.
 */
export interface LoopbackSshd {
  readonly port: number;
  readonly dir: string;
  /** Environment for rain commands: ssh config, and how to start rain on the "remote" host. */
  readonly env: Record<string, string>;
  readonly clientConfig: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export const SSHD_PATH = '/usr/sbin/sshd';

/** Why ssh tests cannot run here, or undefined when they can. */
export function sshdUnavailableReason(): string | undefined {
  if (!existsSync(SSHD_PATH)) return `${SSHD_PATH} is not installed (apt-get install openssh-server)`;
  if (process.getuid?.() !== 0) return 'sshd tests need root (sshd privilege separation)';
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startLoopbackSshd(dir: string, repoRoot: string): Promise<LoopbackSshd> {
  mkdirSync(dir, { recursive: true });
  mkdirSync('/run/sshd', { recursive: true });
  const hostKey = path.join(dir, 'host_ed25519');
  const clientKey = path.join(dir, 'client_ed25519');
  for (const key of [hostKey, clientKey]) {
    if (!existsSync(key)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  }
  writeFileSync(path.join(dir, 'authorized_keys'), readFileSync(`${clientKey}.pub`));
  const port = await freePort();
  const hostPub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  writeFileSync(path.join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostPub}\n[localhost]:${port} ${hostPub}\n`);
  const sshdConfig = path.join(dir, 'sshd_config');
  writeFileSync(sshdConfig, [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${hostKey}`, `PidFile ${path.join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`, 'StrictModes no', 'UsePAM no',
    'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes', 'LogLevel ERROR', 'Subsystem sftp internal-sftp', 'MaxSessions 64', 'MaxStartups 64:30:128',
  ].join('\n') + '\n');
  const clientConfig = path.join(dir, 'ssh_config');
  writeFileSync(clientConfig, [
    'Host *', '  User root', `  IdentityFile ${clientKey}`, '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${path.join(dir, 'known_hosts')}`, '  StrictHostKeyChecking yes', '  LogLevel ERROR',
  ].join('\n') + '\n');
  const env = {
    RAIN_SSH_CONFIG: clientConfig,
    // The "remote" host is this one: run this checkout's rain with this node.
    RAIN_REMOTE_COMMAND: `'${process.execPath}' '${path.join(repoRoot, 'bin', 'rain')}'`,
  };
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    child = spawn(SSHD_PATH, ['-D', '-e', '-f', sshdConfig], { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        execFileSync('ssh', ['-F', clientConfig, '-o', 'BatchMode=yes', '-p', String(port), '127.0.0.1', 'true'], { stdio: 'ignore', timeout: 5000 });
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`sshd on 127.0.0.1:${port} did not come up: ${String(error)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Kills sshd and every session it runs (the process group), like a host going down. */
  async function stop(): Promise<void> {
    if (!child?.pid) return;
    if (child.exitCode !== null || child.signalCode !== null) { child = undefined; return; }
    const gone = new Promise<void>((resolve) => child?.once('exit', () => resolve()));
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await gone;
    child = undefined;
  }

  await start();
  return { port, dir, env, clientConfig, stop, start };
}
