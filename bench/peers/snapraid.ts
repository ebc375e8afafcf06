import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { totalBytesOf, writeFully } from '../data-generator.js';
import { compareWithSource } from '../file-digest.js';
import { mountDisk, type MountedDisk } from './disk-mounts.js';
import { INSTALL_HINT, timePeerCommand, which, withNote, type PeerContext, type PeerDisk, type PeerOperation, type PeerReport } from './peer-report.js';

const PARITY_NAMES = ['parity', '2-parity', '3-parity', '4-parity', '5-parity', '6-parity'];

interface Piece {
  readonly path: string;
  readonly sha256: string;
}

/**
 * SnapRAID over k data disks and m parity disks, each its own mounted file system. The data is
 * laid out as SnapRAID expects it, already on the data disks: each source file is cut into k
 * pieces, piece p on data disk p (not timed). Then: sync (reads the data, writes parity), scrub of
 * 100% of the array, and fix of one data disk whose files were deleted.
 */
export async function runSnapraid(ctx: PeerContext): Promise<PeerReport> {
  const name = 'snapraid';
  const snapraid = which('snapraid');
  if (!snapraid) return { name, status: 'not installed', message: INSTALL_HINT, operations: [] };
  if (ctx.m > PARITY_NAMES.length) return { name, status: 'skipped', message: `SnapRAID has at most ${PARITY_NAMES.length} parity levels`, operations: [] };
  if (process.getuid?.() !== 0) return { name, status: 'skipped', message: 'needs root: each SnapRAID disk must be its own mounted file system', operations: [] };

  const base = path.join(ctx.workDir, 'snapraid');
  await fs.mkdir(base, { recursive: true });
  const mounted: MountedDisk[] = [];
  try {
    let disks: readonly PeerDisk[];
    let where: string;
    if (ctx.disks) {
      disks = ctx.disks.map((d, i) => ({ name: i < ctx.k ? `d${i + 1}` : `p${i - ctx.k + 1}`, dir: d.dir }));
      where = 'disks: the tmpfs mounts rain ran on, emptied';
    } else {
      const pieceBytes = ctx.sources.reduce((sum, s) => sum + Math.ceil(s.sizeBytes / ctx.k), 0);
      const deviceBytes = Math.ceil(pieceBytes * 1.1) + 64 * 1024 * 1024;
      ctx.log(`snapraid: mounting ${ctx.k + ctx.m} disks of ${Math.round(deviceBytes / 1048576)} MiB`);
      for (let i = 1; i <= ctx.k; i++) mounted.push(await mountDisk(base, `d${i}`, deviceBytes));
      for (let i = 1; i <= ctx.m; i++) mounted.push(await mountDisk(base, `p${i}`, deviceBytes));
      disks = mounted;
      const kinds = [...new Set(mounted.map((d) => d.kind))].join('+');
      where = kinds === 'loop-ext4'
        ? "disks: ext4 loop devices backed by files on the bench disk (the loop devices' kernel threads work for SnapRAID but count as 'other processes')"
        : `disks: ${kinds} (RAM, not comparable with rain on disk)`;
    }
    for (const disk of disks) await fs.mkdir(disk.dir, { recursive: true });
    const dataDisks = disks.slice(0, ctx.k);
    const parityDisks = disks.slice(ctx.k);

    ctx.log('snapraid: laying the data out on the data disks (not timed)');
    const pieces = await layOutPieces(ctx, dataDisks);
    const config = path.join(base, 'snapraid.conf');
    await fs.writeFile(config, snapraidConfigText(base, dataDisks, parityDisks));
    const userBytes = totalBytesOf(ctx.sources);
    const operations: PeerOperation[] = [];

    ctx.log('snapraid sync');
    const sync = await timePeerCommand('snapraid sync', snapraid, ['-c', config, 'sync'], userBytes);
    operations.push({ comparesTo: 'put', measurement: withNote(sync.measurement, `${ctx.m} parity levels; data already on the disks, so it reads the data and writes parity only; ${where}`) });
    if (!sync.measurement.ok) return { name, status: 'ran', operations };

    ctx.log('snapraid scrub -p 100');
    const scrub = await timePeerCommand('snapraid scrub -p 100 -o 0', snapraid, ['-c', config, '-p', '100', '-o', '0', 'scrub'], userBytes);
    operations.push({ comparesTo: 'verify', measurement: withNote(scrub.measurement, 'reads data and parity of the whole array') });

    const lost = dataDisks[0];
    ctx.log(`snapraid fix -d ${lost.name}`);
    for (const entry of await fs.readdir(lost.dir)) {
      if (entry !== 'lost+found') await fs.rm(path.join(lost.dir, entry), { recursive: true, force: true });
    }
    const fix = await timePeerCommand(`snapraid fix -d ${lost.name}`, snapraid, ['-c', config, '-d', lost.name, 'fix'], userBytes);
    let check = 'not checked';
    if (fix.measurement.ok) {
      const failures: string[] = [];
      for (const piece of pieces.filter((p) => p.path.startsWith(`${lost.dir}/`))) {
        const verdict = await compareWithSource(piece.path, piece.sha256);
        if (verdict !== 'ok') failures.push(`${path.basename(piece.path)}: ${verdict}`);
      }
      check = failures.length === 0 ? 'restored files match' : `RESTORED FILES DIFFER: ${failures.join('; ')}`;
    }
    operations.push({ comparesTo: 'rebuild', measurement: withNote(fix.measurement, `all files of data disk ${lost.name} deleted; ${check}`) });
    return { name, status: 'ran', operations };
  } finally {
    for (const disk of mounted.reverse()) await disk.unmount().catch(() => undefined);
    for (const disk of ctx.disks ?? []) await fs.rm(disk.dir, { recursive: true, force: true });
    await fs.rm(base, { recursive: true, force: true });
  }
}

/** A SnapRAID configuration: one parity file per parity disk, a content file on every data disk and in `base`. */
export function snapraidConfigText(base: string, dataDisks: readonly PeerDisk[], parityDisks: readonly PeerDisk[]): string {
  if (parityDisks.length > PARITY_NAMES.length) throw new Error(`SnapRAID has at most ${PARITY_NAMES.length} parity levels`);
  return [
    ...parityDisks.map((d, i) => `${PARITY_NAMES[i]} ${path.join(d.dir, `snapraid.${PARITY_NAMES[i]}`)}`),
    `content ${path.join(base, 'snapraid.content')}`,
    ...dataDisks.map((d) => `content ${path.join(d.dir, 'snapraid.content')}`),
    ...dataDisks.map((d) => `data ${d.name} ${d.dir}/`),
    'exclude /lost+found/',
    '',
  ].join('\n');
}

/** Piece p of every source file goes to data disk p; returns each piece's path and SHA-256. */
async function layOutPieces(ctx: PeerContext, dataDisks: readonly PeerDisk[]): Promise<Piece[]> {
  const pieces: Piece[] = [];
  for (const source of ctx.sources) {
    const pieceLength = Math.ceil(source.sizeBytes / ctx.k);
    for (let p = 0; p < ctx.k; p++) {
      const start = p * pieceLength;
      const end = Math.min(source.sizeBytes, start + pieceLength);
      const target = path.join(dataDisks[p].dir, `${source.name}.piece${p}`);
      const hash = createHash('sha256');
      const out = await fs.open(target, 'wx');
      try {
        let position = 0;
        if (end > start) {
          for await (const raw of createReadStream(source.path, { start, end: end - 1, highWaterMark: 4 * 1024 * 1024 })) {
            const chunk = raw as Buffer;
            hash.update(chunk);
            await writeFully(out, chunk, position);
            position += chunk.length;
          }
        }
      } finally {
        await out.close();
      }
      pieces.push({ path: target, sha256: hash.digest('hex') });
    }
  }
  return pieces;
}
