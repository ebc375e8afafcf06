import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { MetricSet, writeMetricsFile } from '../../src/cli/metrics-file.js';
import { reportMetrics } from '../../src/cli/report-metrics.js';
import { emptyHealth, type FileHealth } from '../../src/dataset/file-health.js';
import { summarizeHealth } from '../../src/dataset/health-tally.js';
import { parsePromText } from '../helpers/prom-text.js';

function file(name: string, state: FileHealth['state'], sizeBytes: number, lostDatasets: number[] = []): FileHealth {
  return { ...emptyHealth({ name, fileId: name, fileSizeBytes: sizeBytes, datasetCount: 2 }), state, lostDatasets };
}

describe('Prometheus text for --metrics-file', () => {
  it('a check report becomes families a strict parser accepts, with health, stores, bytes, files, last check and duration', () => {
    const text = reportMetrics({
      pool: 'docs', command: 'check', exitCode: 1, durationMs: 1234, finishedAtMs: Date.parse('2026-12-03T01:00:00Z'), verdict: 'degraded',
      stores: [{ slot: 0, path: '/mnt/a', condition: 'online' }, { slot: 1, path: '/mnt/"odd"\\path', condition: 'missing', detail: 'directory not found' }],
      health: summarizeHealth([file('a', 'healthy', 100), file('b', 'degraded', 50), file('c', 'lost', 7, [1]), file('d', 'superseded', 9)]),
      lastCheck: { verdict: 'degraded', finishedAt: '2026-12-03T01:00:00.000Z', datasets: 8, repairedBlocks: 3, lostDatasets: 1 },
      datasets: { checked: 8, lost: 1, repairedBlocks: 3 },
    }).render();
    const families = parsePromText(text);
    for (const family of families.values()) {
      expect(family.name).toMatch(/^rain_/);
      expect(family.type).toBe('gauge');
      expect(family.help).toBeTruthy();
      for (const sample of family.samples) expect(sample.labels).toMatchObject({ pool: 'docs', command: 'check' });
    }
    const value = (name: string, labels: Record<string, string> = {}) => families.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value('rain_pool_health', { verdict: 'degraded' })).toBe(1);
    expect(value('rain_command_exit_code')).toBe(1);
    expect(value('rain_command_success')).toBe(0);
    expect(value('rain_command_duration_seconds')).toBe(1.234);
    expect(value('rain_command_last_run_timestamp_seconds')).toBe(Date.parse('2026-12-03T01:00:00Z') / 1000);
    expect(value('rain_store_online', { slot: '0', path: '/mnt/a', state: 'online' })).toBe(1);
    // A path with quotes and a backslash survives the escaping.
    expect(value('rain_store_online', { slot: '1', path: '/mnt/"odd"\\path', state: 'missing' })).toBe(0);
    expect(value('rain_stored_files')).toBe(3);
    expect(value('rain_stored_bytes')).toBe(157);
    expect(value('rain_files', { state: 'lost' })).toBe(1);
    expect(value('rain_datasets_checked')).toBe(8);
    expect(value('rain_datasets_lost')).toBe(1);
    expect(value('rain_blocks_repaired')).toBe(3);
    expect(value('rain_last_check_timestamp_seconds')).toBe(Date.parse('2026-12-03T01:00:00Z') / 1000);
    expect(value('rain_last_check_result', { verdict: 'degraded' })).toBe(1);
  });

  it('the strict parser refuses what the collector would refuse (so the test above can fail)', () => {
    expect(() => parsePromText('rain_x 1')).toThrow(/line feed/);
    expect(() => parsePromText('rain_x{a="b\\q"} 1\n')).toThrow(/escape/);
    expect(() => parsePromText('rain_x 1\n# TYPE rain_x gauge\n')).toThrow(/TYPE after samples/);
    expect(() => parsePromText('rain_x 1\nrain_y 1\nrain_x{a="b"} 2\n')).toThrow(/continues/);
    expect(() => parsePromText('rain_x{a="b"} 1\nrain_x{a="b"} 2\n')).toThrow(/twice/);
    expect(() => parsePromText('rain-x 1\n')).toThrow();
    expect(() => parsePromText('rain_x one\n')).toThrow(/bad value/);
  });

  it('bad metric or label names are refused when built, never written', () => {
    expect(() => new MetricSet().add('rain-bad', 'gauge', 'h', 1)).toThrow();
    expect(() => new MetricSet().add('rain_ok', 'gauge', 'h', 1, { 'bad-label': 'x' })).toThrow();
  });

  it('the file is replaced atomically: no temp file is left, and an old file is replaced whole', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rain-metrics-'));
    try {
      const target = path.join(dir, 'rain.prom');
      await fs.writeFile(target, 'old\n');
      const text = new MetricSet().add('rain_x', 'gauge', 'x', 2, { pool: 'p' }).render();
      await writeMetricsFile(target, text);
      expect(await fs.readFile(target, 'utf8')).toBe(text);
      expect(await fs.readdir(dir)).toEqual(['rain.prom']);
      await expect(writeMetricsFile(path.join(dir, 'no-such-dir', 'rain.prom'), text)).rejects.toThrow();
      expect(await fs.readdir(dir)).toEqual(['rain.prom']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
