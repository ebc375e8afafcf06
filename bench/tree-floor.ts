import fs from 'node:fs';
import path from 'node:path';
import { fsyncDirectory } from '../src/store/durable-file.js';
import { writeDurably, type FloorRun } from './io-floor.js';
import { treeFilePath, type SourceTree, type TreeFile } from './tree-generator.js';

/**
 * The I/O floor of the small-file tree: the bytes rain moves for it, as plain files, with no
 * coding, headers, catalog records or worker processes. Every tree file becomes k+m part files,
 * one per store directory, at the file's own relative path: data part j holds bytes
 * [j*s, (j+1)*s) with s = ceil(size / k), and the m parity parts are copies of the first part,
 * so size * (k+m) / k bytes are written, as rain does. Every part file is fsynced, and every
 * directory created once at the end, as rain makes each block and each directory durable.
 *
 * FILES_IN_FLIGHT files are worked on at once (rain's workers overlap their data sets too). Small
 * files are read and written with calls in this thread, as rain's workers do (store/inline-io.ts):
 * a thread-pool hand-off per call would cost the floor more than rain pays.
 */
const FILES_IN_FLIGHT = 8;

export interface TreeFloorLayout {
  /** k + m directories, the first k hold the data parts. */
  readonly dirs: readonly string[];
  readonly k: number;
}

function partPath(dir: string, file: TreeFile): string {
  return `${path.join(dir, ...file.relPath.split('/'))}.part`;
}

function shardBytes(file: TreeFile, k: number): number {
  return Math.ceil(file.sizeBytes / k);
}

/** Runs `work` over the files with FILES_IN_FLIGHT at a time. */
async function eachFile(files: readonly TreeFile[], work: (file: TreeFile) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < files.length) await work(files[next++]);
  };
  await Promise.all(Array.from({ length: FILES_IN_FLIGHT }, lane));
}

/** mkdir -p that remembers what it made, for one fsync per new directory at the end. */
class DirectoryMaker {
  private readonly known = new Set<string>();
  readonly created: string[] = [];

  ensure(dir: string): void {
    if (this.known.has(dir)) return;
    const first = fs.mkdirSync(dir, { recursive: true });
    this.known.add(dir);
    if (first === undefined) return;
    // mkdir -p returns the first directory it created; everything from there down is new.
    for (let d = dir; d.length >= first.length; d = path.dirname(d)) this.created.push(d);
    this.created.push(path.dirname(first));
  }

  async syncAll(): Promise<void> {
    for (const dir of [...new Set(this.created)].sort((a, b) => b.length - a.length)) {
      await fsyncDirectory(dir);
    }
  }
}

export async function writeTreeFloor(tree: SourceTree, layout: TreeFloorLayout): Promise<FloorRun> {
  const { dirs, k } = layout;
  const maker = new DirectoryMaker();
  let bytesRead = 0;
  let bytesWritten = 0;
  await eachFile(tree.files, async (file) => {
    const bytes = fs.readFileSync(treeFilePath(tree, file));
    bytesRead += bytes.length;
    const s = shardBytes(file, k);
    await Promise.all(dirs.map(async (dir, j) => {
      const part = bytes.subarray(j < k ? j * s : 0, (j < k ? j * s : 0) + s);
      const target = partPath(dir, file);
      maker.ensure(path.dirname(target));
      await writeDurably(target, part, dir);
      bytesWritten += part.length;
    }));
  });
  await maker.syncAll();
  return { bytesRead, bytesWritten };
}

/**
 * Read floors of the tree. `parts` says which part files of every file are read. With `outRoot`,
 * the k data parts are written back as the file at its relative path below outRoot and fsynced
 * (the get floor); with `rewrite`, that part is deleted and written again, fsynced (the rebuild
 * floor); otherwise the bytes are dropped (the verify floor).
 */
export async function readTreeFloor(
  tree: SourceTree, layout: TreeFloorLayout, parts: readonly number[], sink: { outRoot?: string; rewrite?: number },
): Promise<FloorRun> {
  const { dirs, k } = layout;
  const maker = new DirectoryMaker();
  let bytesRead = 0;
  let bytesWritten = 0;
  await eachFile(tree.files, async (file) => {
    const buffers = parts.map((j) => fs.readFileSync(partPath(dirs[j], file)));
    for (const b of buffers) bytesRead += b.length;
    if (sink.outRoot !== undefined) {
      const target = path.join(sink.outRoot, ...file.relPath.split('/'));
      maker.ensure(path.dirname(target));
      const data = Buffer.concat(parts.map((j, i) => (j < k ? buffers[i] : Buffer.alloc(0))));
      await writeDurably(target, data, sink.outRoot);
      bytesWritten += data.length;
    }
    if (sink.rewrite !== undefined) {
      const lostPath = partPath(dirs[sink.rewrite], file);
      const size = fs.statSync(lostPath).size;
      fs.rmSync(lostPath);
      const donor = buffers.find((b) => b.length >= size) ?? Buffer.alloc(size);
      await writeDurably(lostPath, donor.subarray(0, size), dirs[sink.rewrite]);
      bytesWritten += size;
    }
  });
  await maker.syncAll();
  return { bytesRead, bytesWritten };
}
