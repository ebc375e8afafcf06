import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { SourceFile } from '../data-generator.js';
import { cpuSecondsOf, type Measurement } from '../measurement.js';
import { prepareTimedPhase } from '../page-cache.js';
import { LoadProbe } from '../system-load.js';
import { describeFailure, runTimed, type CommandRun, type RunOptions } from '../timed-command.js';

/** The rain operation a peer operation is compared with. */
export type RainOperation = 'put' | 'get' | 'degradedGet' | 'verify' | 'rebuild';

export interface PeerOperation {
  readonly measurement: Measurement;
  readonly comparesTo: RainOperation;
}

export interface PeerReport {
  readonly name: string;
  /** 'ran' also when some operations failed; each failed one says why in its notes. */
  readonly status: 'ran' | 'not installed' | 'skipped' | 'failed';
  readonly message?: string;
  readonly operations: PeerOperation[];
}

/** A directory on a file system of its own (SnapRAID refuses two disks on one device). */
export interface PeerDisk {
  readonly name: string;
  readonly dir: string;
}

export interface PeerContext {
  /** On disk: SnapRAID's config and first content file. */
  readonly workDir: string;
  /** Room for zfec's shares and outputs. */
  readonly scratchDir: string;
  /**
   * k+m directories, each its own file system, for SnapRAID's data and parity disks: the tmpfs
   * mounts rain ran on, emptied. Undefined in --dir mode: SnapRAID then loop-mounts ext4 images.
   */
  readonly disks: readonly PeerDisk[] | undefined;
  readonly sources: readonly SourceFile[];
  readonly k: number;
  readonly m: number;
  readonly log: (text: string) => void;
}

export const INSTALL_HINT = 'not installed (apt-get install snapraid par2 python3-zfec)';

export { which } from '../../test/helpers/which.js';

/** Drops the page cache, runs one peer command, and turns it into a Measurement. */
export async function timePeerCommand(
  label: string, command: string, args: readonly string[], userBytes: number, options: RunOptions = {}, okExitCodes: readonly number[] = [0],
): Promise<{ measurement: Measurement; run: CommandRun }> {
  const cacheDropped = await prepareTimedPhase();
  const probe = new LoadProbe();
  const run = await runTimed(command, args, { ...options, sampleRss: true });
  const otherCores = probe.otherCores(cpuSecondsOf(run.cpu));
  const ok = run.exitCode !== null && okExitCodes.includes(run.exitCode);
  return {
    run,
    measurement: {
      label, userBytes, seconds: ok ? run.wallSeconds : NaN, cacheDropped, ok, rss: run.rss, cpu: run.cpu, otherCores,
      notes: ok ? [] : [`FAILED: ${describeFailure(run)}`],
    },
  };
}

export function withNote(m: Measurement, ...notes: string[]): Measurement {
  return { ...m, notes: [...notes, ...m.notes] };
}
