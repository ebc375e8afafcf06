import fs from 'node:fs/promises';
import path from 'node:path';
import { totalBytesOf } from '../data-generator.js';
import { compareWithSource } from '../file-digest.js';
import { lastLines, runTimed } from '../timed-command.js';
import { INSTALL_HINT, timePeerCommand, which, withNote, type PeerContext, type PeerOperation, type PeerReport } from './peer-report.js';

interface Tool {
  readonly command: string;
  readonly prefixArgs: readonly string[];
}

/**
 * Debian's python3-zfec ships the library without the zfec/zunfec commands, so when they are not
 * on PATH we try the package's own command-line modules through the system python; if those do
 * not load either (they need pyutil), zfec is reported as not runnable and skipped.
 */
async function findTools(): Promise<{ zfec: Tool; zunfec: Tool } | string> {
  const zfec = which('zfec');
  const zunfec = which('zunfec');
  if (zfec && zunfec) return { zfec: { command: zfec, prefixArgs: [] }, zunfec: { command: zunfec, prefixArgs: [] } };
  const python = ['/usr/bin/python3', which('python3')].find((p): p is string => p !== undefined && p !== '');
  if (!python) return INSTALL_HINT;
  const imported = await runTimed(python, ['-c', 'import zfec']);
  if (imported.exitCode !== 0) return INSTALL_HINT;
  const viaModule = (module: string): Tool => ({ command: python, prefixArgs: ['-c', `import sys; sys.argv[0] = '${module}'; from zfec.${module} import main; sys.exit(main())`] });
  const probe = await runTimed(python, [...viaModule('cmdline_zfec').prefixArgs, '--version']);
  if (probe.exitCode !== 0) {
    return `the zfec library is installed but its command line does not run (${lastLines(probe.stderr, 1) || `exit ${probe.exitCode ?? '?'}`}); skipped`;
  }
  return { zfec: viaModule('cmdline_zfec'), zunfec: viaModule('cmdline_zunfec') };
}

/** zfec -k K -m K+M of every file into share files, then zunfec from the last K shares (the first M lost). */
export async function runZfec(ctx: PeerContext): Promise<PeerReport> {
  const name = 'zfec';
  const tools = await findTools();
  if (typeof tools === 'string') return { name, status: tools === INSTALL_HINT ? 'not installed' : 'skipped', message: tools, operations: [] };
  const base = path.join(ctx.scratchDir, 'zfec');
  const shares = path.join(base, 'shares');
  const out = path.join(base, 'out');
  await fs.mkdir(shares, { recursive: true });
  await fs.mkdir(out, { recursive: true });
  const total = ctx.k + ctx.m;
  const userBytes = totalBytesOf(ctx.sources);
  const operations: PeerOperation[] = [];
  try {
    ctx.log(`zfec -k ${ctx.k} -m ${total}`);
    let encodeSeconds = 0;
    let ok = true;
    let encodeDropped = true;
    let encodeNote = '';
    for (const source of ctx.sources) {
      const run = await timePeerCommand('zfec', tools.zfec.command,
        [...tools.zfec.prefixArgs, '-q', '-k', String(ctx.k), '-m', String(total), '-d', shares, '-p', source.name, source.path], userBytes);
      encodeSeconds += run.run.wallSeconds;
      encodeDropped &&= run.measurement.cacheDropped;
      if (!run.measurement.ok) {
        ok = false;
        encodeNote = run.measurement.notes.join('; ');
        break;
      }
    }
    operations.push({
      comparesTo: 'put',
      measurement: {
        label: `zfec -k ${ctx.k} -m ${total}`, userBytes, seconds: ok ? encodeSeconds : NaN, cacheDropped: encodeDropped, ok,
        notes: [ok ? `${total} share files per file, no fsync` : encodeNote],
      },
    });
    if (!ok) return { name, status: 'ran', operations };

    ctx.log('zunfec from k shares');
    let decodeSeconds = 0;
    let decodeDropped = true;
    const failures: string[] = [];
    for (const source of ctx.sources) {
      const mine = (await fs.readdir(shares)).filter((f) => f.startsWith(`${source.name}.`)).sort();
      const used = mine.slice(ctx.m).map((f) => path.join(shares, f));
      const target = path.join(out, source.name);
      const run = await timePeerCommand('zunfec', tools.zunfec.command, [...tools.zunfec.prefixArgs, '-o', target, ...used], userBytes);
      decodeSeconds += run.run.wallSeconds;
      decodeDropped &&= run.measurement.cacheDropped;
      if (!run.measurement.ok) {
        failures.push(run.measurement.notes.join('; '));
        break;
      }
      const verdict = await compareWithSource(target, source.sha256);
      if (verdict !== 'ok') failures.push(`${source.name}: ${verdict}`);
      await fs.rm(target, { force: true });
    }
    operations.push({
      comparesTo: 'degradedGet',
      measurement: {
        label: `zunfec from ${ctx.k} of ${total} shares`, userBytes, seconds: failures.length === 0 ? decodeSeconds : NaN,
        cacheDropped: decodeDropped, ok: failures.length === 0,
        notes: [failures.length === 0 ? `first ${ctx.m} shares left out; output matches` : `FAILED: ${failures.join('; ')}`],
      },
    });
    return { name, status: 'ran', operations };
  } finally {
    await fs.rm(base, { recursive: true, force: true });
  }
}
