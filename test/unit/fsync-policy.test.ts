import { FsyncPolicy, INLINE_FSYNC_MAX_MICROS, POOLED_FSYNCS_PER_PROBE, SAMPLES_KEPT } from '../../src/store/fsync-policy.js';

describe('FsyncPolicy', () => {
  test('an unmeasured store is probed inline', () => {
    expect(new FsyncPolicy().inline('/store')).toBe(true);
  });

  test('cheap fsyncs stay inline, even with preempted samples among them', () => {
    const policy = new FsyncPolicy();
    policy.record('/tmpfs', 3);
    // A process descheduled mid-call measures milliseconds for a no-op fsync.
    for (let i = 0; i < SAMPLES_KEPT - 1; i++) policy.record('/tmpfs', 5_000);
    expect(policy.costMicros('/tmpfs')).toBe(3);
    for (let i = 0; i < 500; i++) expect(policy.inline('/tmpfs')).toBe(true);
  });

  test('a slow store goes to the pool, probed inline once in POOLED_FSYNCS_PER_PROBE', () => {
    const policy = new FsyncPolicy();
    for (let i = 0; i < SAMPLES_KEPT; i++) policy.record('/disk', 2_000);
    const decisions = Array.from({ length: POOLED_FSYNCS_PER_PROBE * 3 }, () => policy.inline('/disk'));
    expect(decisions.filter((inline) => inline)).toHaveLength(3);
    expect(decisions[POOLED_FSYNCS_PER_PROBE - 1]).toBe(true);
    expect(decisions[0]).toBe(false);
  });

  test('a store that turns fast goes inline again once its slow samples age out', () => {
    const policy = new FsyncPolicy();
    for (let i = 0; i < SAMPLES_KEPT; i++) policy.record('/disk', 2_000);
    expect(policy.inline('/disk')).toBe(false);
    policy.record('/disk', INLINE_FSYNC_MAX_MICROS / 2);
    expect(policy.inline('/disk')).toBe(true);
  });

  test('stores are measured apart', () => {
    const policy = new FsyncPolicy();
    for (let i = 0; i < SAMPLES_KEPT; i++) policy.record('/slow', 2_000);
    policy.record('/fast', 2);
    expect(policy.inline('/fast')).toBe(true);
    expect(policy.inline('/slow')).toBe(false);
    expect(policy.costMicros('/other')).toBeUndefined();
  });
});
