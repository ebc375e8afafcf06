/**
 * Micro-benchmark of the coding kernels: `npm run bench:kernel [-- shardMiB]`, or
 * `npm run bench:kernel [-- shardMiB]` (compiles bench/ to .bench-dist/ first).
 * Reports MB/s of data shard bytes processed (the figure users compare with disk speed), for
 * encode and for reconstruct with two data shards missing, single-threaded. Where a C compiler and
 * ISA-L are installed it times ISA-L on the same cases, right after rain's, for the ratio; then
 * it judges issue 6's kernel targets.
 */
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { ISAL_INSTALL_HINT, prepareIsalHarness, type IsalHarness, type IsalTiming, type IsalUnavailable } from '../isal/isal-harness.js';
import { createCodec, type KernelChoice } from '../../src/codec/reed-solomon.js';

export interface BenchResult {
  kernel: string;
  k: number;
  m: number;
  operation: 'encode' | 'reconstruct-2-data';
  /** From the median run; robust to other processes sharing the machine. */
  megabytesPerSecond: number;
  /** From the fastest run: what the kernel does when it has a core to itself. */
  bestMegabytesPerSecond: number;
}

const MIN_SECONDS = 0.5;

export function benchCase(kernel: KernelChoice, k: number, m: number, shardBytes: number): BenchResult[] {
  const codec = createCodec(k, m, { kernel });
  const shards: Uint8Array[] = [];
  let seed = 0x12345678;
  for (let i = 0; i < k + m; i++) {
    const shard = new Uint8Array(shardBytes);
    for (let j = 0; j < shardBytes; j++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      shard[j] = seed >>> 24;
    }
    shards.push(shard);
  }
  const data = shards.slice(0, k);
  const parity = shards.slice(k);
  const base = { kernel: codec.kernelName, k, m };
  const results: BenchResult[] = [{ ...base, operation: 'encode', ...measure(k * shardBytes, () => codec.encode(data, parity)) }];
  if (m >= 2) {
    const present = shards.map((_, i) => i >= Math.min(2, k));
    results.push({ ...base, operation: 'reconstruct-2-data', ...measure(k * shardBytes, () => codec.reconstruct(shards, present)) });
  }
  return results;
}

/** Warms up (so V8 tiers the code up), then times single runs until MIN_SECONDS have passed. */
function measure(bytesPerRun: number, run: () => void): Pick<BenchResult, 'megabytesPerSecond' | 'bestMegabytesPerSecond'> {
  for (let i = 0; i < 5; i++) run();
  const nanos: number[] = [];
  const start = process.hrtime.bigint();
  while (nanos.length < 5 || Number(process.hrtime.bigint() - start) < MIN_SECONDS * 1e9) {
    const t0 = process.hrtime.bigint();
    run();
    nanos.push(Number(process.hrtime.bigint() - t0));
  }
  nanos.sort((a, b) => a - b);
  return { megabytesPerSecond: rate(bytesPerRun, nanos[nanos.length >> 1]), bestMegabytesPerSecond: rate(bytesPerRun, nanos[0]) };
}

function rate(bytesPerRun: number, nanos: number): number {
  return (bytesPerRun * 1e3) / nanos;
}

const CASES = [[4, 2], [10, 4]] as const;
const KERNELS = ['js', 'wasm-simd'] as const;

/** Issue 6's kernel targets: 4+2, 1 MiB shards, one thread, median MB/s of data bytes, wasm-simd. */
const TARGET_K = 4;
const TARGET_M = 2;
const TARGET_SHARD_MIB = 1;
const TARGETS = [
  { operation: 'encode', label: 'encode', minMegabytesPerSecond: 6000 },
  { operation: 'reconstruct-2-data', label: 'reconstruct 2 missing', minMegabytesPerSecond: 4000 },
] as const;

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const shardMiB = argv.length > 0 ? Number(argv[0]) : 1;
  if (!(shardMiB > 0)) throw new RangeError(`shard size in MiB must be positive, got ${argv[0]}`);
  const shardBytes = Math.round(shardMiB * 1024 * 1024);

  // Compiled before any timing, so the compiler does not compete with the first case for a core.
  const isal = prepareIsalHarness();
  console.log(describeRun());
  console.log(describeIsal(isal));
  const simdResults: BenchResult[] = [];
  try {
    // Case by case rather than kernel by kernel: on a shared machine, rain and ISA-L measured
    // seconds apart see the same neighbours, which keeps their ratio meaningful.
    for (const [k, m] of CASES) {
      for (const kernel of KERNELS) {
        for (const r of benchCase(kernel, k, m, shardBytes)) {
          console.log(rateLine(r.kernel, r, shardMiB, r.megabytesPerSecond, r.bestMegabytesPerSecond));
          if (kernel === 'wasm-simd') simdResults.push(r);
        }
      }
      if (isal.available) {
        for (const t of isal.run(k, m, shardBytes, MIN_SECONDS)) console.log(isalLine(t, shardMiB, simdResults));
      }
    }
  } finally {
    if (isal.available) isal.close();
  }
  for (const line of verdictLines(simdResults, shardMiB)) console.log(line);
}

function describeRun(): string {
  const load = os.loadavg()[0].toFixed(2);
  return `node ${process.version} on ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.availableParallelism()} cores, load average ${load}); ` +
    `MB/s of data-shard bytes, one thread, median and best of runs over >= ${MIN_SECONDS} s`;
}

function describeIsal(isal: IsalHarness | IsalUnavailable): string {
  if (!isal.available) return `ISA-L: not compared (${isal.reason}); to compare, install it: ${ISAL_INSTALL_HINT}`;
  return `ISA-L ${isal.version ?? '(version unknown)'}: harness compiled with ${isal.compiler}`;
}

function rateLine(name: string, c: { k: number; m: number; operation: string }, shardMiB: number, median: number, best: number): string {
  const rates = `${median.toFixed(0).padStart(6)} MB/s median, ${best.toFixed(0).padStart(6)} MB/s best`;
  return `${name.padEnd(9)} ${`${c.k}+${c.m}`.padEnd(5)} ${c.operation.padEnd(18)} ${shardMiB} MiB shards: ${rates}`;
}

function isalLine(t: IsalTiming, shardMiB: number, simdResults: readonly BenchResult[]): string {
  const dataBytes = t.k * t.shardBytes;
  const median = rate(dataBytes, t.medianNanos);
  const best = rate(dataBytes, t.bestNanos);
  const line = rateLine('isa-l', t, shardMiB, median, best);
  const rain = simdResults.find((r) => r.k === t.k && r.m === t.m && r.operation === t.operation);
  if (rain === undefined) return line;
  const ratio = (a: number, b: number): string => (a / b).toFixed(2);
  return `${line}  (rain wasm-simd / ISA-L: ${ratio(rain.megabytesPerSecond, median)} median, ${ratio(rain.bestMegabytesPerSecond, best)} best)`;
}

function verdictLines(simdResults: readonly BenchResult[], shardMiB: number): string[] {
  const lines = TARGETS.map((target) => {
    const r = simdResults.find((x) => x.k === TARGET_K && x.m === TARGET_M && x.operation === target.operation);
    const label = `${target.label} ${TARGET_K}+${TARGET_M} ${shardMiB} MiB`;
    if (r === undefined) return `${label}: not measured (target >= ${target.minMegabytesPerSecond})`;
    const met = r.megabytesPerSecond >= target.minMegabytesPerSecond ? 'met' : 'NOT MET';
    return `${label}: ${r.megabytesPerSecond.toFixed(0)} MB/s (target >= ${target.minMegabytesPerSecond}) ${met}`;
  });
  if (shardMiB !== TARGET_SHARD_MIB) lines.push(`(the targets are set for ${TARGET_SHARD_MIB} MiB shards; this run used ${shardMiB} MiB)`);
  return lines;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
