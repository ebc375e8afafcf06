import fs from 'node:fs/promises';
import path from 'node:path';
import { totalBytesOf } from '../data-generator.js';
import { compareWithSource } from '../file-digest.js';
import { INSTALL_HINT, timePeerCommand, which, withNote, type PeerContext, type PeerOperation, type PeerReport } from './peer-report.js';

/**
 * par2's default of 2000 source blocks makes -r50 compute 1000 recovery blocks, which took over a
 * minute per 64 MiB on the 2-core machine this was written on; 40 source blocks (20 recovery
 * blocks) keep the 1 GiB run to seconds and still survive any 50% of blocks lost.
 */
const SOURCE_BLOCKS = 40;
const SET_NAME = 'rain-bench.par2';

/**
 * par2 on the source files in place: create with 50% redundancy, verify, then delete one file
 * (one file's worth of data) and repair. Runs last, since it recreates a source file (restored
 * byte-identical, which is checked).
 */
export async function runPar2(ctx: PeerContext): Promise<PeerReport> {
  const name = 'par2';
  const par2 = which('par2');
  if (!par2) return { name, status: 'not installed', message: INSTALL_HINT, operations: [] };
  const dir = path.dirname(ctx.sources[0].path);
  const names = ctx.sources.map((s) => path.basename(s.path));
  const blocks = Math.min(32768, Math.max(SOURCE_BLOCKS, 2 * names.length));
  const userBytes = totalBytesOf(ctx.sources);
  const operations: PeerOperation[] = [];
  try {
    ctx.log(`par2 create -r50 -b${blocks}`);
    const create = await timePeerCommand(`par2 create -r50 -b${blocks}`, par2, ['create', '-q', '-q', '-r50', `-b${blocks}`, SET_NAME, ...names], userBytes, { cwd: dir });
    operations.push({ comparesTo: 'put', measurement: withNote(create.measurement, `${blocks} source blocks, ${blocks / 2} recovery blocks; reads the data, writes 50% recovery data`) });
    if (!create.measurement.ok) return { name, status: 'ran', operations };

    ctx.log('par2 verify');
    const verify = await timePeerCommand('par2 verify', par2, ['verify', '-q', '-q', SET_NAME], userBytes, { cwd: dir });
    operations.push({ comparesTo: 'verify', measurement: withNote(verify.measurement, 'reads data and recovery files') });

    // One file's worth of data lost: the first source file deleted outright.
    const lost = ctx.sources[0];
    await fs.rm(lost.path);
    ctx.log('par2 repair');
    const repair = await timePeerCommand('par2 repair', par2, ['repair', '-q', '-q', SET_NAME], userBytes, { cwd: dir });
    let check = 'not checked';
    if (repair.measurement.ok) {
      const failures: string[] = [];
      for (const source of ctx.sources) {
        const verdict = await compareWithSource(source.path, source.sha256);
        if (verdict !== 'ok') failures.push(`${source.name}: ${verdict}`);
      }
      check = failures.length === 0 ? 'repaired files match' : `REPAIRED FILES DIFFER: ${failures.join('; ')}`;
    }
    operations.push({ comparesTo: 'rebuild', measurement: withNote(repair.measurement, `${lost.name} (${Math.round(lost.sizeBytes / 1048576)} MiB, one file of ${ctx.sources.length}) deleted first; reads every file, recreates the lost one; ${check}`) });
    return { name, status: 'ran', operations };
  } finally {
    for (const entry of await fs.readdir(dir)) {
      // par2 leaves the damaged originals as NAME.1 next to the repaired files.
      if (entry.startsWith('rain-bench') && entry.endsWith('.par2')) await fs.rm(path.join(dir, entry), { force: true });
      else if (names.some((n) => entry.startsWith(`${n}.`))) await fs.rm(path.join(dir, entry), { force: true });
    }
  }
}
