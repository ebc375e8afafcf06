// Decision measurement for issue 17: packs (one rain data set for many small files) vs per-store
// append-only segments (each small file its own k+m shards appended to a segment per store).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { createCodec } from '../dist/codec/reed-solomon.js';
const K = 4, M = 2, B = 1 << 20, FILES = Number(process.argv[2] ?? 50000), HEADER = 128;
const root = fs.mkdtempSync('/dev/shm/packseg-');
let seed = 1; const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32; };
const files = Array.from({ length: FILES }, () => crypto.randomBytes(100 + Math.floor(rnd() * 3997)));
const dataBytes = files.reduce((a, f) => a + f.length, 0);
const codec = createCodec(K, M);
function storeDirs(tag) { return Array.from({ length: K + M }, (_, i) => { const d = path.join(root, tag, `s${i}`); fs.mkdirSync(d, { recursive: true }); return d; }); }
function durable(dir, name, bufs) { const tmp = path.join(dir, `.${name}.tmp`); const fd = fs.openSync(tmp, 'w'); for (const b of bufs) fs.writeSync(fd, b); fs.fsyncSync(fd); fs.closeSync(fd); fs.renameSync(tmp, path.join(dir, name)); }
function dirSync(d) { const fd = fs.openSync(d, 'r'); fs.fsyncSync(fd); fs.closeSync(fd); }
function usage(dirs) { let bytes = 0, inodes = 0; for (const d of dirs) for (const f of fs.readdirSync(d)) { bytes += fs.statSync(path.join(d, f)).size; inodes++; } return { bytes, inodes }; }
// (a) packs
{
  const dirs = storeDirs('pack'); const t0 = process.hrtime.bigint();
  let pack = Buffer.alloc(K * B), used = 0, packs = 0;
  const flushPack = () => { if (!used) return; const shard = Math.max(16, Math.ceil(Math.ceil(used / K) / 16) * 16);
    const data = Array.from({ length: K }, (_, c) => { const s = Buffer.alloc(shard); pack.copy(s, 0, c * shard, Math.min(used, (c + 1) * shard)); return s; });
    const parity = Array.from({ length: M }, () => Buffer.alloc(shard)); codec.encode(data, parity);
    [...data, ...parity].forEach((s, i) => durable(dirs[i], `p${packs}.blk`, [Buffer.alloc(HEADER), s]));
    packs++; used = 0; pack.fill(0); };
  for (const f of files) { if (used + f.length > K * B) flushPack(); f.copy(pack, used); used += f.length; }
  flushPack(); dirs.forEach(dirSync);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6; const u = usage(dirs);
  console.log(`packs:    ${ms.toFixed(0)} ms, ${packs} packs, ${u.inodes} inodes over ${K + M} stores, ${(u.bytes / dataBytes).toFixed(2)}x bytes stored per data byte`);
}
// (b) per-store append-only segments, a per-file data set, fsync per 256 files
{
  const dirs = storeDirs('seg'); const t0 = process.hrtime.bigint();
  const fds = dirs.map((d) => fs.openSync(path.join(d, 'seg-0.dat'), 'a'));
  let n = 0;
  for (const f of files) { const shard = Math.max(16, Math.ceil(Math.ceil(f.length / K) / 16) * 16);
    const data = Array.from({ length: K }, (_, c) => { const s = Buffer.alloc(shard); if (c * shard < f.length) f.copy(s, 0, c * shard, Math.min(f.length, (c + 1) * shard)); return s; });
    const parity = Array.from({ length: M }, () => Buffer.alloc(shard)); codec.encode(data, parity);
    [...data, ...parity].forEach((s, i) => fs.writeSync(fds[i], Buffer.concat([Buffer.alloc(HEADER), s])));
    if (++n % 256 === 0) fds.forEach((fd) => fs.fsyncSync(fd)); }
  fds.forEach((fd) => { fs.fsyncSync(fd); fs.closeSync(fd); }); dirs.forEach(dirSync);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6; const u = usage(dirs);
  console.log(`segments: ${ms.toFixed(0)} ms, ${u.inodes} inodes over ${K + M} stores, ${(u.bytes / dataBytes).toFixed(2)}x bytes stored per data byte`);
}
console.log(`${FILES} files, ${(dataBytes / 1e6).toFixed(1)} MB; (k+m)/k = ${((K + M) / K).toFixed(2)}`);
fs.rmSync(root, { recursive: true, force: true });
