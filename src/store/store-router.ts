import { ExitCode, RainError, errnoCode, type ExitCodeValue } from '../rain-error.js';
import { isRemoteStorePath } from './store-location.js';

/**
 * Every store operation (write a block, read a record, claim an epoch...) is a function of a
 * store path. A process runs it itself when it can reach the store's directory ("direct"), and
 * otherwise hands it on: a worker to its coordinator, the coordinator to the worker that rain
 * started on the store's host over ssh. So the same code serves local directories, mounts and
 * ssh:// stores, and a remote store's bytes are read and checked on its own host.
 */
export interface StoreCall {
  readonly storePath: string;
  readonly fn: string;
  readonly args: readonly unknown[];
}

/** An error as it crosses a process or host boundary: message, errno code and rain exit code survive. */
export interface CarriedError {
  readonly message: string;
  readonly errno?: string;
  readonly exitCode?: number;
}

export interface StoreRouting {
  /** True when this process reaches the store's directory itself. */
  readonly isDirect: (storePath: string) => boolean;
  /** Runs a call somewhere that can (the coordinator, or a remote store's worker). */
  readonly forward: (call: StoreCall) => Promise<unknown>;
}

type StoreFunction = (storePath: string, ...args: never[]) => Promise<unknown>;

const registry = new Map<string, StoreFunction>();

let routing: StoreRouting = {
  isDirect: (storePath) => !isRemoteStorePath(storePath),
  forward: (call) => Promise.reject(new Error(`store ${call.storePath} is not reachable from this process`)),
};

export function setStoreRouting(next: StoreRouting): void {
  routing = next;
}

export function isDirectStore(storePath: string): boolean {
  return routing.isDirect(storePath);
}

/**
 * Registers a store function under a stable name and returns the version callers use. Arguments
 * and results must survive structured cloning (plain data, bigint, Uint8Array); an argument that
 * only makes sense in this process (a DirectorySync, a buffer to read into) must be optional and
 * is dropped when the call leaves, so the far side makes its writes durable before it answers.
 */
export function remotable<A extends unknown[], R>(
  name: string,
  fn: (storePath: string, ...args: A) => Promise<R>,
  options: { localOnlyArgs?: readonly number[]; adaptResult?: (result: R, args: A) => R } = {},
): (storePath: string, ...args: A) => Promise<R> {
  if (registry.has(name)) throw new Error(`store function ${name} registered twice`);
  registry.set(name, fn as unknown as StoreFunction);
  return async (storePath: string, ...args: A): Promise<R> => {
    if (routing.isDirect(storePath)) return fn(storePath, ...args);
    const sent = args.map((arg, i) => (options.localOnlyArgs?.includes(i) ? undefined : arg));
    const result = (await routing.forward({ storePath, fn: name, args: sent })) as R;
    return options.adaptResult ? options.adaptResult(result, args) : result;
  };
}

/** Runs a call that arrived from another process: here if the store is direct, else onwards. */
export async function executeStoreCall(call: StoreCall): Promise<unknown> {
  const fn = registry.get(call.fn);
  if (!fn) throw new Error(`unknown store function ${call.fn} (rain versions differ between hosts?)`);
  if (routing.isDirect(call.storePath)) return fn(call.storePath, ...(call.args as never[]));
  return routing.forward(call);
}

export function carryError(error: unknown): CarriedError {
  return {
    message: error instanceof Error ? error.message : String(error),
    errno: errnoCode(error),
    exitCode: error instanceof RainError ? error.exitCode : undefined,
  };
}

export function rebuildError(carried: CarriedError): Error {
  const known = Object.values(ExitCode).includes(carried.exitCode as ExitCodeValue);
  const error = known ? new RainError(carried.exitCode as ExitCodeValue, carried.message) : new Error(carried.message);
  return carried.errno ? Object.assign(error, { code: carried.errno }) : error;
}
