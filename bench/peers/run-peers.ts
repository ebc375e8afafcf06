import { runPar2 } from './par2.js';
import type { PeerContext, PeerReport } from './peer-report.js';
import { runSnapraid } from './snapraid.js';
import { runZfec } from './zfec.js';

const PEERS: { name: string; run: (ctx: PeerContext) => Promise<PeerReport> }[] = [
  { name: 'snapraid', run: runSnapraid },
  { name: 'zfec', run: runZfec },
  // Last: par2 repairs the source files in place.
  { name: 'par2', run: runPar2 },
];

/** Each peer is optional: one that throws is reported with its error and the others still run. */
export async function runPeers(ctx: PeerContext, skip: boolean): Promise<PeerReport[]> {
  const reports: PeerReport[] = [];
  for (const peer of PEERS) {
    if (skip) {
      reports.push({ name: peer.name, status: 'skipped', message: 'skipped (--skip-peers)', operations: [] });
      continue;
    }
    try {
      reports.push(await peer.run(ctx));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      ctx.log(`${peer.name} failed: ${message}`);
      reports.push({ name: peer.name, status: 'failed', message, operations: [] });
    }
  }
  return reports;
}
