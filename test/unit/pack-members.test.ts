import { expect, it } from '@jest/globals';
import { newId } from '../../src/format/ids.js';
import { PackMembers } from '../../src/ops/pack-members.js';

/** A check reports each packed file by what these columns give back: its name, id and size must come back exactly. */
it('gives back every member as added, across growth, an id not in rain\'s form kept as it is; refuses a bad size or index', () => {
  const members = new PackMembers();
  const added = Array.from({ length: 1000 }, (_, i) => ({ name: `dir/f${i} \u{1F600}`, fileId: newId(), fileSizeBytes: i === 7 ? Number.MAX_SAFE_INTEGER : i * 37 }));
  added[3] = { ...added[3], fileId: 'not-a-hex-id' };
  added[4] = { ...added[4], fileId: 'ffffffffffffffff0000000000000000' };
  for (const member of added) members.add(member);
  expect(members.length).toBe(added.length);
  for (let i = 0; i < added.length; i++) {
    expect({ name: members.name(i), fileId: members.fileId(i), fileSizeBytes: members.sizeBytes(i) }).toEqual(added[i]);
  }
  expect(() => members.add({ name: 'x', fileId: newId(), fileSizeBytes: -1 })).toThrow(/size/);
  expect(() => members.name(added.length)).toThrow(RangeError);
  expect(() => members.sizeBytes(-1)).toThrow(RangeError);
  expect(members.length).toBe(added.length);
});
