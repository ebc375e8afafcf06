import fs from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeScratch, rain, type Scratch } from '../helpers/rain-cli.js';
import { mountTmpfs, skipBecause, unmountAll } from './fs-mounts.js';

/**
 * A file past 4 GiB (64-bit offsets everywhere: headers, geometry, pwrite positions). The source
 * is sparse with a stamp of its own offset every 64 MiB and at the very end, so a misplaced data
 * set cannot go unnoticed; the stores live on one tmpfs so the test runs at memory speed.
 */
const SIZE_BYTES = 4 * 1024 ** 3 + 123_457;
const STAMP_EVERY = 64 * 1024 ** 2;

describe('a file larger than 4 GiB', () => {
  let scratch: Scratch;
  let mounted = false;

  beforeAll(async () => {
    scratch = await makeScratch('rain-large-');
    const fast = await scratch.dir('fast');
    const result = await mountTmpfs(fast, 'size=12g');
    mounted = result.ok;
    if (!result.ok) skipBecause('the >4 GiB round trip', result);
  });
  afterAll(async () => {
    await unmountAll();
    await scratch.cleanup();
  });

  it('puts it and reads it back byte for byte with two stores gone', async () => {
    if (!mounted) return;
    const fast = path.join(scratch.root, 'fast');
    const source = path.join(scratch.root, 'big.img');
    const handle = await fs.open(source, 'w');
    const stamps: number[] = [];
    for (let offset = 0; offset < SIZE_BYTES; offset += STAMP_EVERY) stamps.push(offset);
    stamps.push(SIZE_BYTES - 16);
    for (const offset of stamps) await handle.write(Buffer.from(`@${offset.toString(16).padStart(15, '0')}`), 0, 16, offset);
    await handle.truncate(SIZE_BYTES);
    await handle.close();

    const stores: string[] = [];
    for (let i = 0; i < 6; i++) {
      stores.push(path.join(fast, `s${i}`));
      await fs.mkdir(stores[i]);
    }
    const env = scratch.env;
    expect((await rain(['init', '-k', '4', '-m', '2', '--block-size', '4M', ...stores], { env })).code).toBe(0);
    const put = await rain(['put', source, '-p', stores[0]], { env, timeoutMs: 600_000 });
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    await fs.rm(stores[1], { recursive: true });
    await fs.rm(stores[4], { recursive: true });
    const out = path.join(fast, 'back.img');
    const get = await rain(['get', 'big.img', '-o', out, '-p', stores[0]], { env, timeoutMs: 600_000 });
    expect(get.code).toBe(1); // reconstructed from parity
    expect((await fs.stat(out)).size).toBe(SIZE_BYTES);
    expect(await fileCrc(out)).toBe(await fileCrc(source));
    const back = await fs.open(out, 'r');
    const stamp = Buffer.alloc(16);
    await back.read(stamp, 0, 16, SIZE_BYTES - 16);
    await back.close();
    expect(stamp.toString()).toBe(`@${(SIZE_BYTES - 16).toString(16).padStart(15, '0')}`);
  }, 900_000);
});

async function fileCrc(file: string): Promise<number> {
  let value = 0;
  const handle = await fs.open(file, 'r');
  try {
    for await (const chunk of handle.createReadStream({ highWaterMark: 8 * 1024 * 1024 })) value = crc32(chunk as Buffer, value);
  } finally {
    await handle.close().catch(() => undefined);
  }
  return value >>> 0;
}
