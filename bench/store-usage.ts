import fs from 'node:fs/promises';
import path from 'node:path';

export interface DirUsage {
  readonly bytes: number;
  readonly files: number;
}

/**
 * Bytes and regular files below some directories (apparent sizes). Taken from the store
 * directories after a put, less what they held before it, it is what rain wrote: blocks with
 * their headers, catalog records, whatever the layout of the day is, without knowing that layout.
 */
export async function usageOf(dirs: readonly string[]): Promise<DirUsage> {
  let bytes = 0;
  let files = 0;
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        const stat = await fs.stat(full).catch(() => undefined);
        if (stat) {
          bytes += stat.size;
          files++;
        }
      }
    }
  };
  for (const dir of dirs) await walk(dir);
  return { bytes, files };
}

export function usageDifference(after: DirUsage, before: DirUsage): DirUsage {
  return { bytes: after.bytes - before.bytes, files: after.files - before.files };
}
