import fs from 'node:fs';
import type { Command } from 'commander';
import { ExcludePatternError, ExcludeRules, excludeFileLines, parseExcludePattern, type ExcludePattern } from '../format/exclude-patterns.js';
import { TreeExclusion } from '../ops/tree-walk.js';
import { describeError, errnoCode, usageError } from '../rain-error.js';

export interface ExcludeFlags {
  readonly exclude?: string[];
  readonly excludeFrom?: string[];
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Adds --exclude PATTERN and --exclude-from FILE (both repeatable) to put and sync. */
export function withExcludeOptions(command: Command): Command {
  return command
    .option('--exclude <PATTERN>', "leave out entries matching a gitignore-style pattern (repeatable; '!PATTERN' re-includes)", collect)
    .option('--exclude-from <FILE>', 'read exclude patterns from FILE, one a line (# comments; repeatable)', collect);
}

/**
 * The patterns of a command line, checked before anything is read or written: first those of
 * the --exclude-from files (in order), then the --exclude ones, so the command line has the
 * last word (the last matching pattern decides). Undefined when there are none.
 */
export function treeExclusion(flags: ExcludeFlags): TreeExclusion | undefined {
  const patterns: ExcludePattern[] = [];
  for (const file of flags.excludeFrom ?? []) {
    let content: Buffer;
    try {
      content = fs.readFileSync(file);
    } catch (error) {
      const why = errnoCode(error) === 'ENOENT' ? 'no such file' : describeError(error);
      throw usageError(`--exclude-from ${file}: ${why} (give a readable file of patterns, one a line)`);
    }
    for (const line of excludeFileLines(content)) patterns.push(parsed(line.text, `${file}:${line.lineNumber}: `));
  }
  for (const text of flags.exclude ?? []) patterns.push(parsed(text, '--exclude: '));
  return patterns.length === 0 ? undefined : new TreeExclusion(new ExcludeRules(patterns));
}

function parsed(text: string, origin: string): ExcludePattern {
  try {
    return parseExcludePattern(text);
  } catch (error) {
    if (error instanceof ExcludePatternError) throw usageError(`${origin}${error.message}`);
    throw error;
  }
}
