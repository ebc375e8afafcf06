import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { shellQuote } from '../../src/store/store-location.js';
import { which } from './which.js';

const run = promisify(execFile);
export const SSHD = '/usr/sbin/sshd';

/**
 * A private sshd on 127.0.0.1, for the benchmark's ssh:// phase and the ssh tests: its own host
 * and user keys (generated into its directory), an unprivileged port, its own config and pid
 * file, so it neither needs nor touches the machine's ssh set-up. The client config pins the host
 * key (StrictHostKeyChecking yes) and sets BatchMode, so nothing can prompt; "127.0.0.1" and
 * "localhost" are both known hosts, so a test can use them as two hosts.
 */
export interface LoopbackSshd {
  readonly port: number;
  readonly dir: string;
  /** A client config for `ssh -F` (rain reads it from RAIN_SSH_CONFIG). */
  readonly clientConfig: string;
  readonly user: string;
  /** Environment for rain commands: the ssh config, and this checkout's rain as the far side's rain. */
  readonly env: Record<string, string>;
  /** Kills sshd and its process group at once, like a host going down. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same keys (after stop). */
  start(): Promise<void>;
}

/** Why no loopback sshd can be started here, or undefined when it can. */
export function sshdMissing(): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} not found (apt-get install openssh-server)`;
  if (!which('ssh') || !which('ssh-keygen')) return 'ssh or ssh-keygen not found (apt-get install openssh-client)';
  if (process.getuid?.() !== 0) return 'not root: the loopback sshd logs in as root (sshd privilege separation)';
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

async function writeConfigs(dir: string, port: number): Promise<{ serverConfig: string; clientConfig: string }> {
  const hostKey = path.join(dir, 'host_ed25519');
  const userKey = path.join(dir, 'user_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'rain-loopback-host', '-f', hostKey]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'rain-loopback-user', '-f', userKey]);
  const authorizedKeys = path.join(dir, 'authorized_keys');
  await fs.copyFile(`${userKey}.pub`, authorizedKeys);
  const knownHosts = path.join(dir, 'known_hosts');
  const hostPublic = (await fs.readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  await fs.writeFile(knownHosts, `[127.0.0.1]:${port} ${hostPublic}\n[localhost]:${port} ${hostPublic}\n`);
  // Sessions get a HOME of their own: bash sources ~/.bashrc for commands run by sshd, and the
  // machine's root dotfiles (a pyenv init, say) cost seconds per session, more than rain's worker.
  const sessionHome = path.join(dir, 'home');
  await fs.mkdir(sessionHome, { recursive: true });
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
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'Subsystem sftp internal-sftp',
    // rain opens one connection per store at once (and workers may open more).
    'MaxStartups 64:30:128',
    'MaxSessions 64',
    'LogLevel ERROR',
    `SetEnv HOME=${sessionHome}`,
    '',
  ].join('\n'));
  const clientConfig = path.join(dir, 'ssh_config');
  await fs.writeFile(clientConfig, [
    'Host *',
    '  User root',
    `  IdentityFile ${userKey}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${knownHosts}`,
    '  StrictHostKeyChecking yes',
    '  BatchMode yes',
    '  LogLevel ERROR',
    '',
  ].join('\n'));
  return { serverConfig, clientConfig };
}

/**
 * Starts the sshd and returns once a real login works (the port being open is not enough: keys,
 * config). `repoRoot` is the checkout whose bin/rain the far side runs.
 */
export async function startLoopbackSshd(dir: string, repoRoot: string, log: (text: string) => void = () => undefined): Promise<LoopbackSshd> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const port = await freePort();
  const { serverConfig, clientConfig } = await writeConfigs(dir, port);
  // sshd refuses to start without its privilege-separation directory, which only the
  // openssh-server service normally creates.
  await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  let child: ChildProcess | undefined;
  let stderr = '';

  const running = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;

  async function start(): Promise<void> {
    stderr = '';
    // Its own process group, so stop() takes sshd and its sessions down together.
    child = spawn(SSHD, ['-D', '-e', '-f', serverConfig], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (!running()) throw new Error(`sshd exited at start: ${stderr.trim().split('\n').slice(-2).join(' | ') || 'no message'}`);
      const probe = await run('ssh', ['-F', clientConfig, '-p', String(port), '127.0.0.1', 'true'], { timeout: 5000 })
        .then(() => '', (error: unknown) => (error instanceof Error ? error.message : String(error)));
      if (probe === '') break;
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`cannot log in to the loopback sshd on 127.0.0.1:${port}: ${probe.trim().split('\n').slice(-1)[0] ?? ''}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    log(`sshd listening on 127.0.0.1:${port}`);
  }

  async function stop(): Promise<void> {
    const current = child;
    child = undefined;
    if (current?.pid === undefined || current.exitCode !== null || current.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    try {
      process.kill(-current.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await gone;
  }

  await start();
  return {
    port, dir, clientConfig, user: 'root', start, stop,
    env: {
      RAIN_SSH_CONFIG: clientConfig,
      RAIN_REMOTE_COMMAND: `${shellQuote(process.execPath)} ${shellQuote(path.join(repoRoot, 'bin', 'rain'))}`,
    },
  };
}
