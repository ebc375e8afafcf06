import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { CURRENT_POOL_FORMAT, RESPONSIBILITY_VERSION, type Manifest } from '../../src/format/manifest.js';
import { newId } from '../../src/format/ids.js';
import { locateStores } from '../../src/ops/locate-stores.js';
import { forgetPool, renamePool } from '../../src/ops/registered-pools.js';
import { readRegistry, recordPoolStores, registerPool } from '../../src/store/pool-registry.js';
import { writeStoreIdentity } from '../../src/store/store-metadata.js';

/** In-process cases of finding stores by identity and of the registry's names (no CLI, no workers). */
describe('stores by identity and the registry', () => {
  let root: string;
  let savedConfigDir: string | undefined;
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'rain-unit-identity-'));
    savedConfigDir = process.env.RAIN_CONFIG_DIR;
    process.env.RAIN_CONFIG_DIR = path.join(root, 'config');
  });
  afterEach(async () => {
    if (savedConfigDir === undefined) delete process.env.RAIN_CONFIG_DIR;
    else process.env.RAIN_CONFIG_DIR = savedConfigDir;
    await fs.rm(root, { recursive: true, force: true });
  });

  async function poolOnDisk(n: number): Promise<Manifest> {
    const poolId = newId();
    const stores = [];
    for (let slot = 0; slot < n; slot++) {
      const dir = path.join(root, `s${slot}`);
      await fs.mkdir(dir);
      const storeId = newId();
      await writeStoreIdentity(dir, { poolId, storeId, slot });
      stores.push({ slot, storeId, path: dir });
    }
    return {
      poolId, name: 'p', k: 2, m: 1, blockSizeBytes: 65536, epoch: 1, responsibilityVersion: RESPONSIBILITY_VERSION,
      formatVersion: CURRENT_POOL_FORMAT, stores, createdAt: new Date().toISOString(),
    };
  }

  it('uses neither copy of a store found in two places (cp -a), and says why', async () => {
    const manifest = await poolOnDisk(3);
    const moved = path.join(root, 'moved');
    const copied = path.join(root, 'copied');
    await fs.rename(manifest.stores[0].path, moved);
    await fs.cp(moved, copied, { recursive: true });
    const located = await locateStores(manifest, { name: 'p', poolId: manifest.poolId, storePaths: [moved, copied] }, undefined);
    expect(located.relocations).toEqual([]);
    expect(located.ambiguous.get(0)).toMatch(/store 0 \(id [0-9a-f]{8}\) is at both .*moved and .*copied .*neither is used/);
    expect(located.entries.map((e) => e.path)).toEqual(manifest.stores.map((s) => s.path));
  });

  it('keeps a store of another pool out, and finds a moved one by id', async () => {
    const manifest = await poolOnDisk(3);
    const other = path.join(root, 'other');
    await fs.mkdir(other);
    await writeStoreIdentity(other, { poolId: newId(), storeId: manifest.stores[1].storeId, slot: 1 });
    const moved = path.join(root, 'moved');
    await fs.rename(manifest.stores[2].path, moved);
    const located = await locateStores(manifest, undefined, moved);
    expect(located.relocations).toEqual([{ slot: 2, storeId: manifest.stores[2].storeId, fromPath: manifest.stores[2].path, toPath: moved }]);
    const viaOther = await locateStores(manifest, undefined, other);
    expect(viaOther.entries[1].path).toBe(manifest.stores[1].path);
    expect(viaOther.copies).toEqual([]);
  });

  it('refuses a taken or unknown name, keeps a registered name when stores move, and never takes another pool\'s name', async () => {
    await registerPool({ name: 'a', poolId: newId(), storePaths: ['/x'] });
    const b = newId();
    await registerPool({ name: 'b', poolId: b, storePaths: ['/y'] });
    await expect(renamePool('a', 'b')).rejects.toMatchObject({ kind: 'usage', message: expect.stringMatching(/the name b is in use/) });
    await expect(renamePool('nope', 'c')).rejects.toMatchObject({ kind: 'usage' });
    await expect(forgetPool('nope')).rejects.toMatchObject({ kind: 'usage', message: expect.stringMatching(/no registered pool is named nope/) });
    await recordPoolStores('manifest-name', b, [{ slot: 0, storeId: newId(), path: '/z' }]);
    await recordPoolStores('a', newId(), [{ slot: 0, storeId: newId(), path: '/w' }]);
    expect((await readRegistry()).map((p) => [p.name, p.storePaths])).toEqual([['a', ['/x']], ['b', ['/z']]]);
  });
});
