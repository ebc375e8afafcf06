import fs from 'node:fs/promises';
import path from 'node:path';
import { notRun, type Measurement } from '../measurement.js';
import type { SourceTree } from '../tree-generator.js';
import { fileToChange, flipFirstByte } from '../tree-change.js';
import { INSTALL_HINT, timePeerCommand, which, withNote, type PeerDisk } from './peer-report.js';
import { snapraidConfigText } from './snapraid.js';

/** SnapRAID's parity block size for the tree, in KiB (its option `blocksize`). */
const TREE_BLOCK_KIB = 32;

export interface SnapraidTreeContext {
  readonly tree: SourceTree;
  /** k data disks then m parity disks, each its own file system (the tmpfs mounts rain used). */
  readonly disks: readonly PeerDisk[];
  readonly k: number;
  readonly m: number;
  readonly workDir: string;
  readonly log: (text: string) => void;
}

/**
 * `snapraid sync` of the small-file tree: issue 6 asks for rain's `put -r` of the tree "in a time
 * comparable to SnapRAID syncing the same tree". SnapRAID keeps whole files on data disks, so the
 * tree's files are dealt to the k data disks (each file whole, at its relative path, the disk with
 * the fewest bytes so far taking the next file) before the timing; sync then reads them all and
 * writes the m parity files.
 */
export interface SnapraidTreeResults {
  readonly sync: Measurement;
  readonly syncOneChanged: Measurement;
  /** `scrub -p 100 -o 0` of the tree's array (issue 17: rain verify of the tree within 2x). */
  readonly scrub: Measurement;
  /** `fix -d d1` after every file of data disk d1 was deleted (issue 19: rain rebuild within 1.0x). */
  readonly fix: Measurement;
}

export async function runSnapraidTree(ctx: SnapraidTreeContext): Promise<SnapraidTreeResults> {
  const label = 'snapraid sync (tree)';
  const changedLabel = 'snapraid sync (tree), one file changed';
  const scrubLabel = 'snapraid scrub -p 100 -o 0 (tree)';
  const fixLabel = 'snapraid fix -d d1 (tree)';
  const changed = fileToChange(ctx.tree);
  const snapraid = which('snapraid');
  const none = (why: string): SnapraidTreeResults => ({
    sync: notRun(label, ctx.tree.totalBytes, why), syncOneChanged: notRun(changedLabel, changed.sizeBytes, why),
    scrub: notRun(scrubLabel, ctx.tree.totalBytes, why), fix: notRun(fixLabel, ctx.tree.totalBytes, why),
  });
  if (!snapraid) return none(INSTALL_HINT);
  if (ctx.disks.length !== ctx.k + ctx.m) return none('needs k + m disks');
  const base = path.join(ctx.workDir, 'snapraid-tree');
  await fs.mkdir(base, { recursive: true });
  const disks = ctx.disks.map((d, i) => ({ name: i < ctx.k ? `d${i + 1}` : `p${i - ctx.k + 1}`, dir: d.dir }));
  const dataDisks = disks.slice(0, ctx.k);
  const parityDisks = disks.slice(ctx.k);
  try {
    for (const disk of disks) await fs.mkdir(disk.dir, { recursive: true });
    ctx.log(`snapraid (tree): dealing ${ctx.tree.files.length} files to ${ctx.k} data disks (not timed)`);
    const filled = dataDisks.map(() => 0);
    const dealtTo: number[] = [];
    let changedCopy = '';
    for (const file of ctx.tree.files) {
      const target = filled.indexOf(Math.min(...filled));
      dealtTo.push(target);
      const destination = path.join(dataDisks[target].dir, file.relPath);
      if (file === changed) changedCopy = destination;
      await fs.mkdir(path.dirname(destination), { recursive: true });
      await fs.copyFile(path.join(ctx.tree.root, file.relPath), destination);
      filled[target] += file.sizeBytes;
    }
    const config = path.join(base, 'snapraid.conf');
    // Every file takes at least one parity block: with the default 256 KiB blocks, 20,000 files of
    // 1-64 KiB need ~1.2 GiB of parity per disk and sync refuses ("more parity than the available
    // space"); 32 KiB blocks fit the tree's sizes.
    await fs.writeFile(config, `blocksize ${TREE_BLOCK_KIB}\n${snapraidConfigText(base, dataDisks, parityDisks)}`);
    ctx.log('snapraid sync (tree)');
    const sync = await timePeerCommand(label, snapraid, ['-c', config, 'sync'], ctx.tree.totalBytes);
    // The same change rain's "one file changed" row syncs: the same file, same size, other bytes.
    ctx.log(`snapraid sync (tree) with one file changed (${changed.relPath})`);
    await flipFirstByte(changedCopy);
    const again = await timePeerCommand(changedLabel, snapraid, ['-c', config, 'sync'], changed.sizeBytes);
    ctx.log('snapraid scrub -p 100 -o 0 (tree)');
    const scrub = await timePeerCommand(scrubLabel, snapraid, ['-c', config, '-p', '100', '-o', '0', 'scrub'], ctx.tree.totalBytes);
    const lost = dataDisks[0];
    const lostBytes = ctx.tree.files.reduce((sum, _f, i) => sum + (dealtTo[i] === 0 ? ctx.tree.files[i].sizeBytes : 0), 0);
    ctx.log(`snapraid fix -d ${lost.name} (tree)`);
    for (const entry of await fs.readdir(lost.dir)) {
      if (entry !== 'lost+found') await fs.rm(path.join(lost.dir, entry), { recursive: true, force: true });
    }
    const fix = await timePeerCommand(fixLabel, snapraid, ['-c', config, '-d', lost.name, 'fix'], ctx.tree.totalBytes);
    const restored = fix.measurement.ok ? await countFiles(lost.dir) : 0;
    const expected = dealtTo.filter((d) => d === 0).length;
    return {
      scrub: withNote(scrub.measurement, 'reads data and parity of the whole array'),
      fix: withNote(fix.measurement, `all files of data disk ${lost.name} deleted (${expected} files, ${lostBytes} B); ${restored >= expected ? `${restored} files restored` : `ONLY ${restored} OF ${expected} FILES RESTORED`}`),
      sync: withNote(sync.measurement,
        `${ctx.tree.files.length} files dealt whole to ${ctx.k} data disks (the tmpfs mounts rain ran on), ${ctx.m} parity levels, blocksize ${TREE_BLOCK_KIB} KiB; reads the data, writes parity and its content files`),
      syncOneChanged: withNote(again.measurement, `after the sync above, ${changed.relPath} (${changed.sizeBytes} B) changed in place, as for rain`),
    };
  } finally {
    for (const disk of disks) await fs.rm(disk.dir, { recursive: true, force: true });
    await fs.rm(base, { recursive: true, force: true });
  }
}

/** Regular files below `dir`, SnapRAID's own content files left out. */
async function countFiles(dir: string): Promise<number> {
  let count = 0;
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && !entry.name.startsWith('snapraid.content')) count++;
  }
  return count;
}
