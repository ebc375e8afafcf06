import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { replaceFileAtomically } from '../store/atomic-file.js';

/**
 * `--metrics-file PATH`: the command's outcome as a Prometheus text file (exposition format
 * 0.0.4), for node_exporter's textfile collector. The file is written beside its final name and
 * renamed over it, so the collector (which reads *.prom files on every scrape) never sees half a
 * file. Every sample carries `pool` and `command` labels, so one file per command
 * (rain-verify.prom, rain-check.prom) can sit in the same directory without two files exporting
 * the same series.
 */

export type MetricType = 'gauge' | 'counter';

export interface MetricSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly samples: MetricSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Collects samples by family, in the order families were first named. */
export class MetricSet {
  private readonly families = new Map<string, MetricFamily>();

  add(name: string, type: MetricType, help: string, value: number, labels: Readonly<Record<string, string>> = {}): this {
    if (!METRIC_NAME.test(name)) throw new Error(`bad metric name ${name}`);
    for (const label of Object.keys(labels)) if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new Error(`bad label name ${label}`);
    let family = this.families.get(name);
    if (!family) this.families.set(name, (family = { name, help, type, samples: [] }));
    family.samples.push({ labels, value });
    return this;
  }

  get size(): number {
    return this.families.size;
  }

  /** The text exposition: per family one # HELP and one # TYPE line, then its samples. */
  render(): string {
    const lines: string[] = [];
    for (const family of this.families.values()) {
      lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
      lines.push(`# TYPE ${family.name} ${family.type}`);
      for (const sample of family.samples) lines.push(`${family.name}${renderLabels(sample.labels)} ${formatValue(sample.value)}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function renderLabels(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

/** Label values escape backslash, double quote and line feed (the format's only escapes). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and line feed. */
function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

/**
 * Writes `text` to `filePath` atomically: a temp file in the same directory (a rename within one
 * file system is atomic), flushed, then renamed over the old file. The temp name does not end in
 * .prom, so the collector skips it while it is being written.
 */
export async function writeMetricsFile(filePath: string, text: string): Promise<void> {
  const dir = path.dirname(path.resolve(filePath));
  await replaceFileAtomically(filePath, path.join(dir, `.${path.basename(filePath)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`), text);
}
