/**
 * Exit codes are a promise to scripts and cron jobs (documented in README and --help).
 * They follow sysexits(3) where one fits, so shells that know those codes read them right.
 */
export const ExitCode = {
  ok: 0,
  repairable: 1,
  dataLost: 2,
  usage: 64,
  badInput: 65,
  ioFailure: 74,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that carries the exit code the user should see and a one-line message saying what to do. */
export class RainError extends Error {
  readonly exitCode: ExitCodeValue;

  constructor(exitCode: ExitCodeValue, message: string) {
    super(message);
    this.name = 'RainError';
    this.exitCode = exitCode;
  }
}

export function usageError(message: string): RainError {
  return new RainError(ExitCode.usage, message);
}

export function badInputError(message: string): RainError {
  return new RainError(ExitCode.badInput, message);
}

export function ioError(message: string): RainError {
  return new RainError(ExitCode.ioFailure, message);
}

export function dataLostError(message: string): RainError {
  return new RainError(ExitCode.dataLost, message);
}

/**
 * A fault of one store (a full disk, a read-only mount, a symlink where a directory belongs...):
 * `code` is the errno (or ENOTREG for "not a regular file") so callers can tell kinds apart, and
 * the message says in words what is wrong where. One store's fault fails that store, not the command.
 */
export class StoreError extends RainError {
  readonly code: string;

  constructor(code: string, message: string) {
    super(ExitCode.ioFailure, message);
    this.name = 'StoreError';
    this.code = code;
  }
}

export function storeFault(code: string, message: string): StoreError {
  return new StoreError(code, message);
}

/** What an errno means for a store, in words a user can act on (the code stays for searching). */
const ERRNO_WORDS: Record<string, string> = {
  ENOSPC: 'the disk is full (ENOSPC)',
  EDQUOT: 'the disk quota is exceeded (EDQUOT)',
  EROFS: 'the file system is read-only (EROFS)',
  EACCES: 'permission denied (EACCES)',
  EPERM: 'operation not permitted (EPERM)',
  ENOENT: 'not found (ENOENT)',
  ENOTDIR: 'a path component is not a directory (ENOTDIR)',
  EISDIR: 'a directory is in the way (EISDIR)',
  ELOOP: 'a symbolic link is in the way (ELOOP)',
  ENOTREG: 'not a regular file',
  EIO: 'an I/O error (EIO): the disk may be failing',
  ENXIO: 'a device or socket is in the way (ENXIO)',
  EMFILE: 'too many open files (EMFILE)',
  ENAMETOOLONG: 'a path is too long (ENAMETOOLONG)',
  ESTALE: 'a stale network file handle (ESTALE): remount the share',
  ENOTCONN: 'the mount is disconnected (ENOTCONN): remount it',
  ETIMEDOUT: 'the store timed out (ETIMEDOUT)',
  EFBIG: 'a file is too large (EFBIG)',
};

export function errnoWords(code: string | undefined): string | undefined {
  return code === undefined ? undefined : ERRNO_WORDS[code];
}

/**
 * One line about a failed store operation: a StoreError's own message, or an errno error's
 * code in words followed by what Node said (which names the call and the path).
 */
export function describeStoreError(error: unknown): string {
  if (error instanceof StoreError) return error.message;
  const words = errnoWords(errnoCode(error));
  const message = describeError(error);
  return words ? `${words}: ${message.replace(/^[A-Z]+: /, '')}` : message;
}

/** Node's errno errors carry a code; this reads it without trusting the shape. */
export function errnoCode(error: unknown): string | undefined {
  if (error !== null && typeof error === 'object' && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
