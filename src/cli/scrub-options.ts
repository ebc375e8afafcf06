import type { Command } from 'commander';
import type { ScrubRequest } from '../ops/scrub-selection.js';
import { usageError } from '../rain-error.js';

export interface ScrubFlags {
  readonly percent?: string;
  readonly olderThan?: string;
}

/** Adds --percent and --older-than (verify, check): SnapRAID's `scrub -p P -o DAYS`. */
export function withScrubOptions(command: Command): Command {
  return command
    .option('--percent <P>', 'read only P% of the data sets (0 < P <= 100), those verified longest ago first')
    .option('--older-than <DAYS>', 'read only data sets last verified more than DAYS days ago (or never); may be fractional');
}

/** The request the flags make; undefined for a whole run. Bad values are usage errors saying what to give. */
export function scrubRequestOf(flags: ScrubFlags): ScrubRequest | undefined {
  if (flags.percent === undefined && flags.olderThan === undefined) return undefined;
  const percent = flags.percent === undefined ? undefined : Number(flags.percent);
  if (percent !== undefined && (!/^\s*[0-9.]+\s*$/.test(flags.percent ?? '') || !Number.isFinite(percent) || percent <= 0 || percent > 100)) {
    throw usageError(`--percent '${flags.percent}': give a number greater than 0 and at most 100, e.g. --percent 5`);
  }
  const olderThanDays = flags.olderThan === undefined ? undefined : Number(flags.olderThan);
  if (olderThanDays !== undefined && (!/^\s*[0-9.]+\s*$/.test(flags.olderThan ?? '') || !Number.isFinite(olderThanDays) || olderThanDays < 0)) {
    throw usageError(`--older-than '${flags.olderThan}': give a number of days, 0 or more (fractions allowed), e.g. --older-than 30`);
  }
  return { ...(percent === undefined ? {} : { percent }), ...(olderThanDays === undefined ? {} : { olderThanDays }) };
}
