/**
 * rain's errors, by kind. Every failure a user can meet is one of these, with a one-line message
 * saying what is wrong and what to do; cli/exit-codes.ts alone decides the exit code each kind
 * gets (docs/USER-GUIDE.md, Exit codes). Anything else that escapes is a bug ("unexpected failure").
 */
export type ErrorKind = 'usage' | 'bad-input' | 'data-lost' | 'store' | 'operational';

export class RainError extends Error {
  constructor(readonly kind: ErrorKind, message: string) {
    super(message);
    this.name = 'RainError';
  }
}

/** Bad arguments, an unknown name or pool, an invalid name: the command did nothing. */
export class UsageError extends RainError {
  constructor(message: string) {
    super('usage', message);
    this.name = 'UsageError';
  }
}

/** A source that is not what rain can store (neither a regular file nor a directory). */
export class BadInputError extends RainError {
  constructor(message: string) {
    super('bad-input', message);
    this.name = 'BadInputError';
  }
}

/** Some data set has no k blocks that decode to its checksum: those bytes are gone. */
export class DataLostError extends RainError {
  constructor(message: string) {
    super('data-lost', message);
    this.name = 'DataLostError';
  }
}

/**
 * The command could not do its work: too few stores writable, a check still running after the
 * wait limit, a worker gone. (A fault of one store is a StoreError.)
 */
export class OperationalError extends RainError {
  constructor(message: string) {
    super('operational', message);
    this.name = 'OperationalError';
  }
}

/**
 * A fault of one store (a full disk, a read-only mount, a symlink where a directory belongs...):
 * `code` is the errno (or ENOTREG for "not a regular file") so callers can tell kinds apart, and
 * the message says in words what is wrong where. One store's fault fails that store, not the command.
 */
export class StoreError extends RainError {
  readonly code: string;

  constructor(code: string, message: string) {
    super('store', message);
    this.name = 'StoreError';
    this.code = code;
  }
}

export function usageError(message: string): UsageError {
  return new UsageError(message);
}

export function badInputError(message: string): BadInputError {
  return new BadInputError(message);
}

export function ioError(message: string): OperationalError {
  return new OperationalError(message);
}

export function dataLostError(message: string): DataLostError {
  return new DataLostError(message);
}

export function storeFault(code: string, message: string): StoreError {
  return new StoreError(code, message);
}

/**
 * The one form in which an error crosses a process or host boundary (worker replies, relayed
 * store calls): its message, its kind if it is rain's, its errno if it has one. fromWire makes
 * the same class again, so a caller in another process can tell a lost data set from a full disk.
 */
export interface WireError {
  readonly message: string;
  readonly kind?: ErrorKind;
  readonly errno?: string;
}

export function toWire(error: unknown): WireError {
  return {
    message: error instanceof Error ? error.message : String(error),
    ...(error instanceof RainError ? { kind: error.kind } : {}),
    ...(errnoCode(error) !== undefined ? { errno: errnoCode(error) } : {}),
  };
}

export function fromWire(wire: WireError): Error {
  switch (wire.kind) {
    case 'usage': return new UsageError(wire.message);
    case 'bad-input': return new BadInputError(wire.message);
    case 'data-lost': return new DataLostError(wire.message);
    case 'operational': return withErrno(new OperationalError(wire.message), wire.errno);
    case 'store': return new StoreError(wire.errno ?? 'EIO', wire.message);
    default: return withErrno(new Error(wire.message), wire.errno);
  }
}

function withErrno<E extends Error>(error: E, errno: string | undefined): E {
  return errno === undefined ? error : Object.assign(error, { code: errno });
}

/** What an errno means for a store, in words a user can act on (the code stays for searching). */
const ERRNO_WORDS: Record<string, string> = {
  ENOSPC: 'disk full (ENOSPC)',
  EDQUOT: 'disk quota exceeded (EDQUOT)',
  EROFS: 'read-only file system (EROFS)',
  EACCES: 'permission denied (EACCES)',
  EPERM: 'permission denied (EPERM)',
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
