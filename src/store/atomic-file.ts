import fs from 'node:fs/promises';

/**
 * Replaces `filePath` with `text` so a reader sees the old content or the new, never half: written
 * to `tempPath` (in the same directory: a rename within one file system is atomic), flushed to
 * disk, then renamed over it; the temp file is removed when anything fails. For files rain keeps
 * outside the stores (the pool registry, a metrics file); files inside a store go through
 * durable-file.ts.
 */
export async function replaceFileAtomically(filePath: string, tempPath: string, text: string, mode = 0o644): Promise<void> {
  try {
    const handle = await fs.open(tempPath, 'wx', mode);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tempPath, filePath);
  } catch (error) {
    await fs.rm(tempPath, { force: true }).catch(() => undefined);
    throw error;
  }
}
