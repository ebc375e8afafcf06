import { createCipheriv, createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface TreeFile {
  /** Slash-separated path below the tree's root. */
  readonly relPath: string;
  readonly sizeBytes: number;
  readonly sha256: string;
}

export interface SourceTree {
  readonly root: string;
  readonly files: readonly TreeFile[];
  readonly totalBytes: number;
  readonly directories: number;
  readonly seed: number;
}

export interface TreeShape {
  readonly files: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly seed: number;
}

/** mulberry32: a tiny seeded generator, so the same seed gives the same sizes and directories everywhere. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES_PER_LEVEL = 12;
const WRITES_IN_FLIGHT = 32;

/**
 * A tree of small files, all reproducible from the seed: each file's size is uniform in
 * [minBytes, maxBytes], its directory 1 to 3 levels deep with 12 names per level (so about 1,900
 * directories, ~10 files each for 20,000 files), and its bytes an AES-128-CTR keystream under a
 * key derived from the seed (incompressible, every file different).
 */
export async function generateTree(root: string, shape: TreeShape): Promise<SourceTree> {
  const random = seededRandom(shape.seed);
  const key = createHash('sha256').update(`rain-bench-tree-${shape.seed}`).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  const zeros = Buffer.alloc(shape.maxBytes);
  const width = String(shape.files).length;
  const directories = new Set<string>();
  const files: TreeFile[] = [];
  let totalBytes = 0;
  let pending: Promise<void>[] = [];
  for (let i = 0; i < shape.files; i++) {
    const sizeBytes = shape.minBytes + Math.floor(random() * (shape.maxBytes - shape.minBytes + 1));
    const depth = 1 + Math.floor(random() * 3);
    const segments = Array.from({ length: depth }, () => `d${String(Math.floor(random() * NAMES_PER_LEVEL)).padStart(2, '0')}`);
    const dirRel = segments.join('/');
    const relPath = `${dirRel}/f${String(i).padStart(width, '0')}.bin`;
    // Generated in order (the keystream is sequential); only the writes overlap.
    const bytes = cipher.update(zeros.subarray(0, sizeBytes));
    files.push({ relPath, sizeBytes, sha256: createHash('sha256').update(bytes).digest('hex') });
    totalBytes += sizeBytes;
    const isNewDir = !directories.has(dirRel);
    for (let d = 1; d <= depth; d++) directories.add(segments.slice(0, d).join('/'));
    const dirPath = path.join(root, ...segments);
    pending.push((async () => {
      if (isNewDir) await fs.mkdir(dirPath, { recursive: true });
      await fs.writeFile(path.join(dirPath, path.basename(relPath)), bytes, { flag: 'wx' });
    })());
    // A new directory must exist before a later write into it: settle the batch first.
    if (pending.length >= WRITES_IN_FLIGHT || isNewDir) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  return { root, files, totalBytes, directories: directories.size, seed: shape.seed };
}

export function treeFilePath(tree: SourceTree, file: TreeFile): string {
  return path.join(tree.root, ...file.relPath.split('/'));
}
