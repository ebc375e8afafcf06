import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { walkTree, walkTreeCompact } from '../../src/ops/tree-walk.js';
import { WalkedTree } from '../../src/ops/walked-tree.js';

/**
 * The columns a sync keeps of a large tree must give back exactly the entries the walk made: a
 * record is built from them, so a lost mode, link group or escaped path would be stored wrong.
 */
describe('WalkedTree', () => {
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rain-walked-'));
    const root = path.join(dir, 'tree');
    fs.mkdirSync(path.join(root, 'a/b/c'), { recursive: true });
    fs.mkdirSync(path.join(root, 'empty'));
    fs.writeFileSync(path.join(root, 'a/one.txt'), 'one');
    fs.writeFileSync(path.join(root, 'a/b/c/deep.bin'), Buffer.alloc(5000, 7));
    fs.writeFileSync(path.join(root, 'a-sibling'), '');
    fs.chmodSync(path.join(root, 'a-sibling'), 0o4751);
    fs.writeFileSync(path.join(root, 'linked'), 'hard');
    fs.linkSync(path.join(root, 'linked'), path.join(root, 'a/linked-too'));
    fs.symlinkSync('../a/one.txt', path.join(root, 'empty/to-one'));
    fs.symlinkSync('/nowhere/at/all', path.join(root, 'dangling'));
    fs.writeFileSync(path.join(root, 'spät ☂ 😀.txt'), 'unicode');
    // A name that is not UTF-8: its path travels as a wire path, not derived from the name.
    fs.writeFileSync(Buffer.concat([Buffer.from(`${root}/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from('.bin')]), 'latin-1');
    const old = new Date('1969-07-20T20:17:40Z');
    fs.utimesSync(path.join(root, 'a/one.txt'), old, old);
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const [label, sourceOf, prefix] of [
    ['under a prefix', (d: string) => path.join(d, 'tree'), 'photos/2024'],
    ['at the pool root, directory given with a trailing slash', (d: string) => `${path.join(d, 'tree')}/`, ''],
  ] as const) {
    it(`gives back every entry as the walk made it, in name order (${label})`, () => {
      const source = sourceOf(dir);
      const plain = walkTree(source, prefix, []);
      const compact = walkTreeCompact(source, prefix, []);
      expect(compact.length).toBe(plain.length);
      expect(compact.toArray()).toStrictEqual(plain);
      // Member order too: records are made by spreading these objects.
      for (let p = 0; p < plain.length; p++) {
        expect(Object.keys(compact.at(p))).toEqual(Object.keys(plain[p]));
        expect(Object.keys(compact.at(p).meta ?? {})).toEqual(Object.keys(plain[p].meta ?? {}));
        expect(compact.positionOf(plain[p].name)).toBe(p);
        expect(compact.name(p)).toBe(plain[p].name);
        expect(compact.sizeBytes(p)).toBe(plain[p].sizeBytes);
        expect(compact.isDirectory(p)).toBe(plain[p].meta?.kind === 'dir');
      }
      expect(compact.totalBytes).toBe(plain.reduce((sum, s) => sum + s.sizeBytes, 0));
      expect(plain.some((s) => s.meta?.linkGroup !== undefined)).toBe(true);
      expect(plain.some((s) => s.path.startsWith('\u0000'))).toBe(true);
      expect(compact.positionOf(`${prefix}/not-there`)).toBe(-1);
      expect(compact.positionOf('')).toBe(-1);
    });
  }

  it('refuses an entry its columns could not give back', () => {
    const tree = WalkedTree.builder('/src', 'p');
    const meta = { mode: 0o644, mtimeNs: 1n, uid: 0, gid: 0 };
    expect(() => tree.add({ path: '/src/x', name: 'p/x', sizeBytes: 3 })).toThrow(/no metadata/);
    expect(() => tree.add({ path: '/src/x', name: 'p/x', sizeBytes: 3, meta, stamp: { sizeBytes: 4, mtimeNs: 1n, ctimeNs: 1n, ino: 1n, dev: 1n } })).toThrow(/disagree/);
    expect(() => tree.add({ path: '/src/x', name: 'p/x', sizeBytes: 3, meta: { ...meta, uid: -1 }, stamp: { sizeBytes: 3, mtimeNs: 1n, ctimeNs: 1n, ino: 1n, dev: 1n } })).toThrow(/does not fit/);
    tree.add({ path: '/src/y', name: 'p/y', sizeBytes: 0, meta: { kind: 'dir', ...meta } });
    tree.add({ path: '/src/y', name: 'p/y', sizeBytes: 0, meta: { kind: 'dir', ...meta } });
    expect(() => tree.finish()).toThrow(/listed twice/);
  });
});
