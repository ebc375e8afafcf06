import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** The full path of an executable on PATH, or undefined (tests and the benchmark use it to find peers and ssh). */
export function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
