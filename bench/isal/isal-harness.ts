/**
 * ISA-L's figures for the kernel micro-benchmark: compiles isal-ec-bench.c against the system's
 * libisal into a temp directory (the repo stays free of build products), runs it per (k, m, shard
 * size) and parses its key=value lines. When there is no compiler or no ISA-L, says why instead,
 * because the comparison is optional and rain's own figures stand without it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { which } from '../peers/peer-report.js';

export const ISAL_INSTALL_HINT = 'apt-get install libisal-dev gcc';

export type IsalOperation = 'encode' | 'reconstruct-2-data';

export interface IsalTiming {
  readonly operation: IsalOperation;
  readonly k: number;
  readonly m: number;
  readonly shardBytes: number;
  readonly runs: number;
  readonly medianNanos: number;
  readonly bestNanos: number;
}

export interface IsalHarness {
  readonly available: true;
  readonly compiler: string;
  /** From the package manager; undefined when neither dpkg nor pkg-config knows it. */
  readonly version: string | undefined;
  run(k: number, m: number, shardBytes: number, minSeconds: number): IsalTiming[];
  /** Deletes the temp directory holding the compiled harness. */
  close(): void;
}

export interface IsalUnavailable {
  readonly available: false;
  readonly reason: string;
}

const SOURCE_NAME = 'isal-ec-bench.c';
/** Compiling a 300-line file takes well under a second; this only stops a wedged compiler. */
const COMPILE_TIMEOUT_MS = 60_000;

export function prepareIsalHarness(): IsalHarness | IsalUnavailable {
  const source = harnessSource();
  if (source === undefined) return { available: false, reason: `${SOURCE_NAME} not found next to the sources` };
  const compiler = which('cc') ?? which('gcc');
  if (compiler === undefined) return { available: false, reason: 'no C compiler (cc or gcc) on PATH' };

  const dir = mkdtempSync(path.join(os.tmpdir(), 'rain-isal-bench-'));
  const binary = path.join(dir, 'isal-ec-bench');
  // ISA-L's speed is in its own hand-written assembly; -O2 only affects the harness's loop.
  const compiled = spawnSync(compiler, ['-O2', '-std=c11', '-Wall', '-Wextra', '-o', binary, source, '-lisal'], {
    encoding: 'utf8', timeout: COMPILE_TIMEOUT_MS,
  });
  if (compiled.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return { available: false, reason: whyCompileFailed(compiled.stderr ?? '', compiled.error) };
  }
  return {
    available: true,
    compiler,
    version: isalVersion(),
    run: (k, m, shardBytes, minSeconds) => runHarness(binary, k, m, shardBytes, minSeconds),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** .bench-dist/bench/isal/ when built: the C file stays in bench/isal/. */
function harnessSource(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, SOURCE_NAME), path.join(here, '..', '..', '..', 'bench', 'isal', SOURCE_NAME)];
  return candidates.find((candidate) => existsSync(candidate));
}

/** The compiler's own message is long; the user needs to know which part of ISA-L is missing. */
function whyCompileFailed(stderr: string, error: Error | undefined): string {
  if (error !== undefined) return `compiling the ISA-L harness failed: ${error.message}`;
  if (stderr.includes('erasure_code.h')) return 'ISA-L header <isa-l/erasure_code.h> not found';
  if (/-lisal\b/.test(stderr)) return 'ISA-L library (libisal, -lisal) not found';
  const firstError = stderr.split('\n').find((line) => /error/i.test(line)) ?? stderr.trim().split('\n')[0] ?? '';
  return `compiling the ISA-L harness failed: ${firstError.trim()}`;
}

function isalVersion(): string | undefined {
  const dpkg = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'libisal2'], { encoding: 'utf8' });
  if (dpkg.status === 0 && dpkg.stdout.trim() !== '') return `${dpkg.stdout.trim()} (Debian libisal2)`;
  const pkgConfig = spawnSync('pkg-config', ['--modversion', 'libisal'], { encoding: 'utf8' });
  if (pkgConfig.status === 0 && pkgConfig.stdout.trim() !== '') return pkgConfig.stdout.trim();
  return undefined;
}

function runHarness(binary: string, k: number, m: number, shardBytes: number, minSeconds: number): IsalTiming[] {
  const result = spawnSync(binary, [String(k), String(m), String(shardBytes), String(minSeconds)], { encoding: 'utf8' });
  if (result.error !== undefined) throw new Error(`ISA-L harness did not run: ${result.error.message}`);
  // A failed self-check means ISA-L's figures would time wrong work; better no figures than those.
  if (result.status !== 0) {
    throw new Error(`ISA-L harness failed for ${k}+${m} (exit ${result.status ?? result.signal}): ${result.stderr.trim()}`);
  }
  return result.stdout.split('\n').filter((line) => line.trim() !== '').map(parseTimingLine);
}

function parseTimingLine(line: string): IsalTiming {
  const fields = new Map<string, string>();
  for (const pair of line.trim().split(/\s+/)) {
    const equals = pair.indexOf('=');
    if (equals > 0) fields.set(pair.slice(0, equals), pair.slice(equals + 1));
  }
  const operation = fields.get('operation');
  if (operation !== 'encode' && operation !== 'reconstruct-2-data') throw new Error(`ISA-L harness printed an unexpected line: ${line}`);
  const number = (key: string): number => {
    const value = Number(fields.get(key));
    if (!Number.isFinite(value)) throw new Error(`ISA-L harness line lacks a numeric ${key}: ${line}`);
    return value;
  };
  return {
    operation, k: number('k'), m: number('m'), shardBytes: number('shard_bytes'), runs: number('runs'),
    medianNanos: number('median_ns'), bestNanos: number('best_ns'),
  };
}
