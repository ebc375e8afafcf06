/**
 * Micro-benchmark of the coding kernels: `node dist/codec/bench-kernel.js [shardMiB]`.
 * Reports MB/s of data shard bytes processed (the figure users compare with disk speed), for
 * encode and for reconstruct with two data shards missing, single-threaded.
 */
import { pathToFileURL } from 'node:url';
import { createCodec, type KernelChoice } from './reed-solomon.js';

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
  const rate = (ns: number): number => (bytesPerRun * 1e3) / ns;
  return { megabytesPerSecond: rate(nanos[nanos.length >> 1]), bestMegabytesPerSecond: rate(nanos[0]) };
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const shardMiB = argv.length > 0 ? Number(argv[0]) : 1;
  if (!(shardMiB > 0)) throw new RangeError(`shard size in MiB must be positive, got ${argv[0]}`);
  const shardBytes = Math.round(shardMiB * 1024 * 1024);
  for (const kernel of ['js', 'wasm-simd'] as const) {
    for (const [k, m] of [[4, 2], [10, 4]] as const) {
      for (const r of benchCase(kernel, k, m, shardBytes)) {
        const rates = `${r.megabytesPerSecond.toFixed(0).padStart(6)} MB/s median, ${r.bestMegabytesPerSecond.toFixed(0).padStart(6)} MB/s best`;
        console.log(`${r.kernel.padEnd(9)} ${`${r.k}+${r.m}`.padEnd(5)} ${r.operation.padEnd(18)} ${shardMiB} MiB shards: ${rates}`);
      }
    }
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
