import fs from 'node:fs';

/**
 * Where an fsync runs: in the calling thread, or in libuv's thread pool.
 *
 * An fsync that waits on a disk belongs in the pool: the caller goes on, and many fsyncs in
 * flight let the file system commit them together. But a hand-off to the pool and back (a futex
 * wake of another thread, then one back) costs real CPU on this machine kind, and on storage whose
 * fsync is cheap (tmpfs, where it does nothing; a disk with a power-safe write cache) that
 * hand-off was most of the cost of writing a small block (docs/PERFORMANCE.md §5 has the
 * measurements). So each device's fsync time is measured, and fsyncs go
 * inline while they stay below the cost of a hand-off; a slow device is probed inline again now
 * and then, so one slow first sample does not decide for the whole run.
 *
 * The cost is the fastest of the last few samples, not their mean: a sample is wall time, and a
 * process preempted during a microsecond fsync (seven processes share two cores during a put) measures
 * milliseconds. Preemption only ever adds time; a disk that must flush never answers in
 * microseconds, so the minimum tells the two apart.
 */
export class FsyncPolicy {
  /** Keyed by storage: a store's root path, or else a device number. */
  private readonly devices = new Map<string | number, DeviceFsyncCost>();

  /** Whether the next fsync on `device` should run in the calling thread (and be timed). */
  inline(device: string | number): boolean {
    const cost = this.devices.get(device);
    if (cost === undefined) return true;
    if (Math.min(...cost.recentMicros) <= INLINE_FSYNC_MAX_MICROS) return true;
    cost.pooledSinceProbe++;
    if (cost.pooledSinceProbe < POOLED_FSYNCS_PER_PROBE) return false;
    cost.pooledSinceProbe = 0;
    return true;
  }

  /** Records how long an inline fsync on `device` took. */
  record(device: string | number, micros: number): void {
    const cost = this.devices.get(device);
    if (cost === undefined) {
      this.devices.set(device, { recentMicros: [micros], pooledSinceProbe: 0 });
      return;
    }
    cost.recentMicros.push(micros);
    if (cost.recentMicros.length > SAMPLES_KEPT) cost.recentMicros.shift();
  }

  /** The cost the policy goes by for a device (the fastest recent sample), for tests and diagnostics. */
  costMicros(device: string | number): number | undefined {
    const cost = this.devices.get(device);
    return cost === undefined ? undefined : Math.min(...cost.recentMicros);
  }
}

interface DeviceFsyncCost {
  /** The last SAMPLES_KEPT inline fsync times, oldest first. */
  readonly recentMicros: number[];
  pooledSinceProbe: number;
}

/** About the CPU a thread-pool round trip costs here; an fsync cheaper than that runs inline. */
export const INLINE_FSYNC_MAX_MICROS = 100;
/** On a slow device, one fsync in this many is timed inline again. */
export const POOLED_FSYNCS_PER_PROBE = 64;
/** Enough samples that one unpreempted fsync among them is near certain; few enough to follow a change. */
export const SAMPLES_KEPT = 8;

const processPolicy = new FsyncPolicy();

/**
 * fsync(fd) where the policy says; resolves when the file's data and metadata are durable.
 * `storage` names where the file lies (a store's root path): cost is learned per storage. Without
 * it the file's device is looked up, one fstat more.
 */
export async function fsyncFd(fd: number, storage?: string): Promise<void> {
  const device = storage ?? fs.fstatSync(fd).dev;
  if (processPolicy.inline(device)) {
    const startedAt = process.hrtime.bigint();
    fs.fsyncSync(fd);
    processPolicy.record(device, Number(process.hrtime.bigint() - startedAt) / 1000);
    return;
  }
  await new Promise<void>((resolve, reject) => {
    fs.fsync(fd, (error) => (error ? reject(error) : resolve()));
  });
}
