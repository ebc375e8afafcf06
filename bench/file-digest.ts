import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export async function sha256OfFile(filePath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(filePath, { highWaterMark: 4 * 1024 * 1024 })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/** 'ok', or a sentence saying what differs (missing file, other bytes). */
export async function compareWithSource(filePath: string, expectedSha256: string): Promise<'ok' | string> {
  try {
    const actual = await sha256OfFile(filePath);
    return actual === expectedSha256 ? 'ok' : `sha256 differs (${actual.slice(0, 12)}... vs ${expectedSha256.slice(0, 12)}...)`;
  } catch (error) {
    return `cannot read ${filePath}: ${error instanceof Error ? error.message : String(error)}`;
  }
}
