import path from 'node:path';

/**
 * Where a store lives: a directory on this host (a plain disk, an NFS or SSHFS mount), or a
 * directory on another host reached with `ssh://[user@]host[:port]/absolute/path`, whose worker
 * rain starts there over ssh. The manifest keeps the location exactly as the user gave it
 * (local paths resolved to absolute ones), so every host in a pool names a store the same way.
 */
export type StoreLocation =
  | { readonly kind: 'local'; readonly path: string }
  | {
    readonly kind: 'ssh';
    readonly url: string;
    readonly user?: string;
    readonly host: string;
    readonly port?: number;
    /** The store directory on the remote host, absolute. */
    readonly path: string;
  };

const SSH_PREFIX = 'ssh://';

export function isRemoteStorePath(storePath: string): boolean {
  return storePath.startsWith(SSH_PREFIX);
}

/**
 * Parses and validates a store location. User, host and port end up as ssh arguments and the
 * path inside a remote command line, so anything that could be read as an option or could carry
 * a control character is refused here, before any process starts.
 */
export function parseStoreLocation(given: string): StoreLocation | { readonly error: string } {
  // A location with a newline must not split the one-line error message in two.
  const shown = /[\u0000-\u001f\u007f]/.test(given) ? JSON.stringify(given) : given;
  if (!isRemoteStorePath(given)) {
    const problem = pathProblem(given);
    return problem ? { error: `${JSON.stringify(given)}: ${problem}` } : { kind: 'local', path: path.resolve(given) };
  }
  const rest = given.slice(SSH_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return { error: `${shown}: an ssh store needs a host and an absolute path: ssh://[user@]host[:port]/path` };
  const authority = rest.slice(0, slash);
  const remotePath = decodePath(rest.slice(slash));
  if (remotePath === undefined) return { error: `${shown}: the path has a broken %-escape` };
  const at = authority.lastIndexOf('@');
  const user = at >= 0 ? authority.slice(0, at) : undefined;
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  const portMatch = /^(.*):(\d{1,5})$/.exec(hostPort);
  const host = portMatch ? portMatch[1] : hostPort;
  const port = portMatch ? Number(portMatch[2]) : undefined;
  if (user !== undefined && !/^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(user)) return { error: `${shown}: user name ${JSON.stringify(user)} is not allowed` };
  if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_][A-Za-z0-9._-]*)$/.test(host)) return { error: `${shown}: host ${JSON.stringify(host)} is not a host name or address` };
  if (port !== undefined && (port < 1 || port > 65535)) return { error: `${shown}: port ${port} is out of range` };
  const problem = pathProblem(remotePath);
  if (problem) return { error: `${shown}: ${problem}` };
  if (!remotePath.startsWith('/')) return { error: `${shown}: the remote path must be absolute` };
  const segments = remotePath.split('/').slice(1);
  if (segments.some((s, i) => s === '.' || s === '..' || (s === '' && i < segments.length - 1))) {
    return { error: `${shown}: the remote path must be normalized (no '.', '..' or '//')` };
  }
  const normalized = remotePath.length > 1 ? remotePath.replace(/\/+$/, '') : remotePath;
  const authorityText = `${user !== undefined ? `${user}@` : ''}${host}${port !== undefined ? `:${port}` : ''}`;
  return { kind: 'ssh', url: `${SSH_PREFIX}${authorityText}${encodePath(normalized)}`, user, host: host.replace(/^\[|\]$/g, ''), port, path: normalized };
}

/** Characters a store path may not hold on any host: they break logs, shells or the manifest. */
function pathProblem(p: string): string | undefined {
  if (p === '') return 'an empty store path';
  if (/[\u0000-\u001f\u007f]/.test(p)) return 'the path holds a control character (NUL, newline, ...); rename the directory';
  return undefined;
}

/** Only what a URL cannot carry literally is escaped, so `ssh://h/data/my disk` stays readable. */
function encodePath(p: string): string {
  return p.replace(/[%#?]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

function decodePath(p: string): string | undefined {
  try {
    return decodeURIComponent(p);
  } catch {
    return undefined;
  }
}

/** Quotes one word for a POSIX shell: the remote sshd hands rain's command line to the user's shell. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./=:,+-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
