import fs from 'node:fs/promises';
import type { SourceTree, TreeFile } from './tree-generator.js';

/** The one file the "one file changed" rows change: the same one for rain and for snapraid. */
export function fileToChange(tree: SourceTree): TreeFile {
  return tree.files[Math.floor(tree.files.length / 2)];
}

/**
 * Inverts the file's first byte in place: same size, other bytes, a new mtime (what an edit
 * does). Doing it again puts the bytes back.
 */
export async function flipFirstByte(file: string): Promise<void> {
  const handle = await fs.open(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, 0);
    byte[0] ^= 0xff;
    await handle.write(byte, 0, 1, 0);
  } finally {
    await handle.close();
  }
}
