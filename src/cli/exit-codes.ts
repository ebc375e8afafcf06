import { RainError, type ErrorKind } from '../rain-error.js';

/**
 * Exit codes are a promise to scripts and cron jobs (documented in README, --help and
 * docs/USER-GUIDE.md). They follow sysexits(3) where one fits, so shells that know those codes
 * read them right. This module is the only place that turns what happened into one.
 */
export const ExitCode = {
  ok: 0,
  repairable: 1,
  dataLost: 2,
  usage: 64,
  badInput: 65,
  ioFailure: 74,
  /** Stopped by SIGINT (Ctrl-C): 128 + 2, as a shell reports a command a signal ended. */
  interrupted: 130,
  /** Stopped by SIGTERM (kill, a service manager, `timeout`): 128 + 15. */
  terminated: 143,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

const BY_KIND: Record<ErrorKind, ExitCodeValue> = {
  usage: ExitCode.usage,
  'bad-input': ExitCode.badInput,
  'data-lost': ExitCode.dataLost,
  store: ExitCode.ioFailure,
  operational: ExitCode.ioFailure,
};

/** The exit code of a command that failed with `error` (anything not rain's is an I/O failure, 74). */
export function exitCodeOfError(error: unknown): ExitCodeValue {
  return error instanceof RainError ? BY_KIND[error.kind] : ExitCode.ioFailure;
}

/** The one line a user sees for a failure: rain's own message, or what escaped, marked as unexpected. */
export function messageOfError(error: unknown): string {
  if (error instanceof RainError) return error.message;
  return `unexpected failure: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * A command that finished: `lost` (some data set cannot be read back) is 2; `problems` (a store
 * down, blocks not written, something found or repaired) is 1; otherwise 0.
 */
export function exitCodeOf(outcome: { readonly lost?: boolean; readonly problems?: boolean }): ExitCodeValue {
  if (outcome.lost) return ExitCode.dataLost;
  return outcome.problems ? ExitCode.repairable : ExitCode.ok;
}

/** The exit code of a health verdict; `changed`: a check or rebuild that repaired something says so with 1. */
export function exitCodeOfVerdict(verdict: 'healthy' | 'degraded' | 'lost' | 'unavailable', changed = false): ExitCodeValue {
  return exitCodeOf({ lost: verdict === 'lost' || verdict === 'unavailable', problems: verdict === 'degraded' || changed });
}

/** `diff` and `sync --dry-run`: 1 when the tree and the pool differ, as diff(1) says it; 0 when they agree. */
export function exitCodeOfDifferences(differ: boolean): ExitCodeValue {
  return differ ? ExitCode.repairable : ExitCode.ok;
}

/** The signals that stop a command cleanly (cli/interruption.ts). */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/** The exit code of a command stopped by `signal`: what a shell would report had the signal killed it. */
export function exitCodeOfSignal(signal: StopSignal): ExitCodeValue {
  return signal === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated;
}
