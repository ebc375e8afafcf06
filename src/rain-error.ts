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
