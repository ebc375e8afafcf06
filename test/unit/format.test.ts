import { describe, expect, it } from '@jest/globals';
import { decodeBlockHeader, encodeBlockHeader, type BlockHeader } from '../../src/format/block-header.js';
import { crc32Combine, crc32Of, crc32OfText } from '../../src/format/checksum.js';
import { decodeCatalogRecord, encodeCatalogRecord, newestRecord, type CatalogRecord } from '../../src/format/catalog-record.js';
import { datasetCountOf, datasetExtent } from '../../src/format/dataset-geometry.js';
import { checkFileName } from '../../src/format/file-name.js';
import { escapeBytes, unescapeBytes } from '../../src/format/name-bytes.js';
import { newId, newSequence, parseSequence } from '../../src/format/ids.js';
import { decodeManifest, encodeManifest, type Manifest } from '../../src/format/manifest.js';
import { catalogSortKey, compareCatalogNames, decodeCatalogSegment, encodeCatalogSegment, lookUpInSegment, segmentContentId } from '../../src/format/catalog-segment.js';
import { sealedBodyStart, sealJson, unsealJson } from '../../src/format/sealed-json.js';
import { nameHash } from '../../src/store/store-layout.js';
import { decodeStoreFault, encodeStoreFault, errnoNamedIn } from '../../src/format/store-fault.js';

const header: BlockHeader = {
  poolId: newId(), fileId: newId(), name: 'photos/2026/ümlaut.jpg', sequence: (1n << 63n) + 5n,
  fileSizeBytes: 5 * 1024 ** 3 + 7, k: 4, m: 2, blockIndex: 5, datasetIndex: 1280, datasetCount: 1281,
  blockSizeBytes: 1 << 20, payloadLengthBytes: 16, datasetDataBytes: 7, payloadCrc32: 0xdeadbeef,
};

describe('block header', () => {
  it('round-trips every field, including 64-bit sizes and sequences', () => {
    const bytes = encodeBlockHeader(header);
    expect(bytes.length).toBe(94 + Buffer.byteLength(header.name));
    const decoded = decodeBlockHeader(Buffer.concat([bytes, Buffer.alloc(16)]));
    expect(decoded).toEqual({ ok: true, header, headerLengthBytes: bytes.length });
  });

  it('rejects every single flipped bit', () => {
    const bytes = encodeBlockHeader(header);
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const damaged = Buffer.from(bytes);
      damaged[bit >> 3] ^= 1 << (bit & 7);
      expect(decodeBlockHeader(damaged).ok).toBe(false);
    }
  });

  it('rejects truncation at every length and garbage without throwing', () => {
    const bytes = encodeBlockHeader(header);
    for (let length = 0; length < bytes.length; length++) expect(decodeBlockHeader(bytes.subarray(0, length)).ok).toBe(false);
    for (let seed = 1; seed < 50; seed++) {
      const garbage = Buffer.alloc(200, seed);
      expect(decodeBlockHeader(garbage).ok).toBe(false);
    }
  });

  it('refuses to encode an impossible header', () => {
    expect(() => encodeBlockHeader({ ...header, blockIndex: 6 })).toThrow(/block index/);
    expect(() => encodeBlockHeader({ ...header, datasetIndex: 1281 })).toThrow(/data set index/);
  });
});

describe('data set geometry', () => {
  it('covers every byte exactly once with 16-byte-aligned shards', () => {
    for (const fileSizeBytes of [0, 1, 15, 16, 4095, 4096, 3 * 4096, 3 * 4096 + 1, 1_000_003]) {
      const g = { fileSizeBytes, k: 3, blockSizeBytes: 4096 };
      let covered = 0;
      for (let d = 0; d < datasetCountOf(g); d++) {
        const e = datasetExtent(g, d);
        expect(e.fileOffsetBytes).toBe(covered);
        expect(e.shardBytes % 16).toBe(0);
        expect(e.shardBytes * 3).toBeGreaterThanOrEqual(e.dataBytes);
        expect(e.shardBytes).toBeLessThanOrEqual(4096);
        covered += e.dataBytes;
      }
      expect(covered).toBe(fileSizeBytes);
    }
  });

  it('handles offsets beyond 4 GiB', () => {
    const g = { fileSizeBytes: 6 * 1024 ** 3 + 1, k: 4, blockSizeBytes: 1 << 20 };
    const last = datasetExtent(g, datasetCountOf(g) - 1);
    expect(last.fileOffsetBytes).toBe(6 * 1024 ** 3);
    expect(last.dataBytes).toBe(1);
    expect(() => datasetExtent(g, datasetCountOf(g))).toThrow(RangeError);
  });
});

describe('names', () => {
  it.each(['a', 'dir/file.txt', 'ü/日本.txt', 'with space/$HOME', '.hidden', 'a..b'])('accepts %s', (name) => {
    expect(checkFileName(name)).toBeUndefined();
  });
  it.each(['', '/etc/passwd', '../../etc/passwd', 'a/../b', './a', 'a//b', 'a/', 'nul\u0000byte', 'new\nline', 'back\\slash', 'x'.repeat(1025)])(
    'rejects %j', (name) => {
      expect(checkFileName(name)).toEqual(expect.any(String));
    },
  );
});

describe('names of any bytes (catalog form)', () => {
  it.each([
    ['plain/ü.txt', 'plain/ü.txt'],
    ['new\nline', 'new\\nline'],
    ['tab\there', 'tab\\there'],
    ['back\\slash', 'back\\\\slash'],
    // Characters outside the BMP are a surrogate pair in a JS string: valid, kept as they are.
    ['photos/\u{1F600} party.jpg', 'photos/\u{1F600} party.jpg'],
    ['\u{20000}\u{10FFFF}', '\u{20000}\u{10FFFF}'],
  ])('escapes %j as %j and back', (raw, form) => {
    expect(escapeBytes(Buffer.from(raw))).toBe(form);
    expect(unescapeBytes(form)).toEqual(Buffer.from(raw));
    expect(checkFileName(form)).toBeUndefined();
  });
  it('writes bytes that are not UTF-8 (overlong, surrogate, stray) as \\xHH and reads them back exactly', () => {
    const raw = Buffer.from([0x61, 0xff, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xe2, 0x82, 0x7f, 0xe2, 0x82, 0xac]);
    expect(escapeBytes(raw)).toBe('a\\xff\\xc0\\xaf\\xed\\xa0\\x80\\xe2\\x82\\x7f€');
    expect(unescapeBytes(escapeBytes(raw))).toEqual(raw);
    for (let n = 0; n < 300; n++) {
      const bytes = Buffer.from(Array.from({ length: 1 + (n % 9) }, (_, i) => (n * 31 + i * 97) & 0xff));
      expect(unescapeBytes(escapeBytes(bytes))).toEqual(bytes);
    }
  });
  it.each(['a\\x41', 'a\\x2fb', 'a\\xFF', 'a\\x00', 'a\\q', 'a\\', 'a\\xc3\\xa9'])('rejects the non-canonical or NUL form %j', (form) => {
    expect(checkFileName(form)).toEqual(expect.any(String));
  });
});

describe('tree entry members', () => {
  const base: CatalogRecord = {
    name: 'tree/new\\nline', fileId: newId(), sequence: newSequence(), deleted: false, fileSizeBytes: 0, k: 2, m: 1,
    blockSizeBytes: 4096, datasetCount: 0, writtenAt: new Date().toISOString(), datasetChecksums: [],
  };
  it('round-trips kind, mode, mtimeNs (negative too), owner, target and link group; a record without them decodes as before', () => {
    for (const record of [
      { ...base, kind: 'symlink' as const, target: '../x\\xff', mode: 0o777, mtimeNs: -1_500_000_001n, uid: 0, gid: 4294967295 },
      { ...base, kind: 'dir' as const, mode: 0o1777, mtimeNs: 1_764_755_000_123_456_789n },
      { ...base, mode: 0o4755, linkGroup: '2049:131077' },
      base,
    ]) {
      expect(decodeCatalogRecord(encodeCatalogRecord(record))).toEqual({ ok: true, record });
    }
  });
  it.each([
    ['a directory with bytes', { kind: 'dir' as const, fileSizeBytes: 1, datasetCount: 1, datasetChecksums: [1] }],
    ['a symlink without a target', { kind: 'symlink' as const }],
    ['a target on a file', { target: 'x' }],
    ['a mode past 0o7777', { mode: 0o10000 }],
    ['a link group on a directory', { kind: 'dir' as const, linkGroup: '1:2' }],
  ])('refuses %s', (_what, change) => {
    expect(() => encodeCatalogRecord({ ...base, ...change })).toThrow(/invalid catalog record/);
  });
});

describe('sealed metadata', () => {
  const manifest: Manifest = {
    poolId: newId(), name: 'p', k: 2, m: 1, blockSizeBytes: 4096, epoch: 3, responsibilityVersion: 1,
    stores: [0, 1, 2].map((slot) => ({ slot, storeId: newId(), path: `/d${slot}` })), createdAt: '2026-11-25T00:00:00.000Z',
  };

  it('manifest round-trips and any edit is detected', () => {
    const text = encodeManifest(manifest);
    expect(decodeManifest(text)).toEqual({ ok: true, manifest });
    expect(decodeManifest(text.replace('"epoch":3', '"epoch":4')).ok).toBe(false);
    expect(decodeManifest('garbage').ok).toBe(false);
    expect(decodeManifest(text.slice(0, 40)).ok).toBe(false);
  });

  it('refuses manifests with too few stores or duplicate slots', () => {
    expect(() => encodeManifest({ ...manifest, stores: manifest.stores.slice(0, 2) })).toThrow(/fewer than k\+m/);
    expect(() => encodeManifest({ ...manifest, stores: [...manifest.stores.slice(0, 2), { ...manifest.stores[0] }] })).toThrow(/duplicate/);
  });

  it('catalog records keep 64-bit sequences exactly; the newest wins', () => {
    const record: CatalogRecord = {
      name: 'f', fileId: newId(), sequence: (1n << 64n) - 1n, deleted: false, fileSizeBytes: 1, k: 2, m: 1,
      blockSizeBytes: 4096, datasetCount: 1, writtenAt: 'now', datasetChecksums: [12345],
    };
    const decoded = decodeCatalogRecord(encodeCatalogRecord(record));
    expect(decoded).toEqual({ ok: true, record });
    const incremental = { ...record, datasetCount: 2, datasetChecksums: [1, 2], datasetSequences: [7n, record.sequence] };
    expect(decodeCatalogRecord(encodeCatalogRecord(incremental))).toEqual({ ok: true, record: incremental });
    expect(() => encodeCatalogRecord({ ...incremental, datasetSequences: [record.sequence] })).toThrow(/data set count/);
    const older = { ...record, sequence: 5n };
    const tombstone = { ...record, sequence: 6n, deleted: true };
    expect(newestRecord([older, tombstone])).toBe(tombstone);
  });

  it('a packed file\'s record (§5.1) round-trips, and every rule on its pack reference is enforced', () => {
    const packed: CatalogRecord = {
      name: 'small.txt', fileId: newId(), sequence: 1000n, deleted: false, fileSizeBytes: 300, k: 2, m: 1,
      blockSizeBytes: 4096, datasetCount: 0, writtenAt: 'now', datasetChecksums: [],
      pack: { fileId: newId(), sequence: 999n, packBytes: 5000, packChecksum: 77, offsetBytes: 4700, fileChecksum: 88 },
    };
    expect(decodeCatalogRecord(encodeCatalogRecord(packed))).toEqual({ ok: true, record: packed });
    const pack = packed.pack as NonNullable<CatalogRecord['pack']>;
    const bad: [Partial<CatalogRecord>, RegExp][] = [
      [{ pack: { ...pack, fileId: packed.fileId } }, /pack file id/],
      [{ pack: { ...pack, fileId: 'nothex' } }, /pack file id/],
      [{ pack: { ...pack, sequence: 0n } }, /pack sequence/],
      [{ datasetCount: 1, datasetChecksums: [1] }, /no data sets of its own/],
      [{ pack: { ...pack, packBytes: 2 * 4096 + 1 } }, /pack length/],
      [{ pack: { ...pack, offsetBytes: 4701 } }, /outside the pack/],
      [{ pack: { ...pack, offsetBytes: -1 } }, /outside the pack/],
      [{ pack: { ...pack, fileChecksum: 2 ** 32 } }, /pack checksum/],
    ];
    for (const [change, message] of bad) expect(() => encodeCatalogRecord({ ...packed, ...change })).toThrow(message);
  });

  it('sealJson detects a flipped character', () => {
    const text = sealJson({ a: 1, b: 'x' });
    expect(unsealJson(text).ok).toBe(true);
    expect(unsealJson(text.replace('"x"', '"y"')).ok).toBe(false);
  });

  it('unsealJson accepts exactly the grammar of docs/FORMAT.md §2, whatever is cut, added or flipped', () => {
    // The grammar written as one regular expression (what the hand-written parser replaced).
    const grammar = /^\{"crc32":(\d{1,10}),"body":([\s\S]*)\}\n?$/;
    const oracle = (text: string): string => {
      const match = grammar.exec(text);
      if (!match) return 'not sealed';
      if (crc32OfText(match[2]) !== Number(match[1])) return 'checksum mismatch';
      try {
        return JSON.stringify(JSON.parse(match[2]));
      } catch {
        return 'not JSON';
      }
    };
    // The same judgement on a line held as bytes among other bytes (what a streaming reader checks).
    const bytesVerdict = (text: string): boolean => {
      const line = Buffer.from(text.endsWith('\n') ? text.slice(0, -1) : text);
      const bytes = Buffer.concat([Buffer.from('x\n'), line, Buffer.from('\ny')]);
      const bodyStart = sealedBodyStart(bytes, 2, 2 + line.length);
      if (bodyStart >= 0) expect(bytes.toString('utf8', bodyStart, 2 + line.length - 1)).toBe(/,"body":([\s\S]*)\}\n?$/.exec(text)?.[1]);
      return bodyStart >= 0;
    };
    const verdict = (text: string): string => {
      const u = unsealJson(text);
      if (u.ok) return JSON.stringify(u.body);
      return u.reason === 'checksum mismatch' ? u.reason : u.reason === 'body is not JSON' ? 'not JSON' : 'not sealed';
    };
    const seeds = [sealJson({ a: 1, b: 'x\n\u{1F600}' }), sealJson({}), '{"crc32":0,"body":}', '{"crc32":0,"body":""}\n', sealJson({ c: [1, 2] }).trimEnd()];
    const alphabet = ['{', '}', '"', ':', ',', '\n', '0', '9', 'a', 'é', '\u{1F600}', ' '];
    let random = 12345;
    const next = (n: number): number => (random = (random * 1103515245 + 12345) % 2147483648) % n;
    let accepted = 0;
    for (let i = 0; i < 5_000; i++) {
      let text = seeds[next(seeds.length)];
      for (let edits = 1 + next(3); edits > 0; edits--) {
        const at = next(text.length + 1);
        const what = next(3);
        if (what === 0) text = text.slice(0, at) + text.slice(at + 1);
        else if (what === 1) text = text.slice(0, at) + alphabet[next(alphabet.length)] + text.slice(at);
        else text = text.slice(0, at) + alphabet[next(alphabet.length)] + text.slice(at + 1);
      }
      if (next(4) === 0) text = sealJson({ v: text });
      expect(verdict(text)).toBe(oracle(text));
      expect(bytesVerdict(text)).toBe(oracle(text) !== 'not sealed' && oracle(text) !== 'checksum mismatch');
      if (unsealJson(text).ok) accepted++;
    }
    // Some mutated texts must still be sealed (e.g. the re-sealed ones), or the comparison proves little.
    expect(accepted).toBeGreaterThan(250);
    const good = sealJson({ a: 1 });
    const digits = /^\{"crc32":(\d+)/.exec(good)?.[1] ?? '';
    for (const edge of [
      good.replace(digits, `0${digits}`.padStart(11, '0')), good.replace(digits, ''), `${good}\n`, good.trimEnd(), `${good.trimEnd()} `,
      good.replace('"body":', '"body" :'), ` ${good}`, good.replace(/\}\n$/, '\n'), '{"crc32":1,"body":}', '{"crc32":1,"body":',
    ]) expect(verdict(edge)).toBe(oracle(edge));
    // Bytes that are not UTF-8 are refused, though the checksum over them matches (as a string they would not be these bytes).
    const latin = Buffer.concat([Buffer.from('{"v":"'), Buffer.from([0xe9]), Buffer.from('"}')]);
    const forged = Buffer.concat([Buffer.from(`{"crc32":${crc32Of(latin)},"body":`), latin, Buffer.from('}')]);
    expect(sealedBodyStart(forged, 0, forged.length)).toBe(-1);
    expect(sealedBodyStart(Buffer.from(good), 0, Buffer.byteLength(good) - 1)).toBeGreaterThan(0);
  });

  it('sequences increase past a given one and parse strictly', () => {
    const far = newSequence() + (60_000n << 20n); // a minute ahead of the clock
    // Above it, in the next millisecond, with random low bits: two writers superseding the same
    // record stamped ahead of their clocks must not get the same sequence (issue 15, finding 7).
    const [first, second] = [newSequence(far), newSequence(far)];
    for (const next of [first, second]) {
      expect(next > far).toBe(true);
      expect(next >> 20n).toBe((far >> 20n) + 1n);
    }
    expect(new Set(Array.from({ length: 20 }, () => newSequence(far))).size).toBeGreaterThan(15);
    expect(parseSequence('18446744073709551615')).toBe((1n << 64n) - 1n);
    expect(parseSequence('18446744073709551616')).toBeUndefined();
    expect(parseSequence('-1')).toBeUndefined();
  });
});

describe('crc32Combine', () => {
  it('gives the CRC-32 of a concatenation from the parts\' CRCs and the second part\'s length', () => {
    const bytes = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + (i >> 8)) & 0xff));
    for (const [a, b] of [[0, 0], [1, 0], [0, 1], [5, 17], [4096, 4096], [3, 1 << 20], [1000, 65537]]) {
      const first = bytes(a, 1);
      const second = bytes(b, 2);
      expect(crc32Combine(crc32Of(first), crc32Of(second), b)).toBe(crc32Of(Buffer.concat([first, second])));
    }
  });
});

describe('catalog segments', () => {
  const inBucket = (bucket: string, count: number): string[] => {
    const names: string[] = [];
    for (let i = 0; names.length < count; i++) if (nameHash(`f${i}`).startsWith(bucket)) names.push(`f${i}`);
    return names;
  };
  const bucket = nameHash('f0').slice(0, 2);
  const records: CatalogRecord[] = inBucket(bucket, 3).sort(compareCatalogNames).map((name, i) => ({
    name, fileId: newId(), sequence: 100n + BigInt(i), deleted: false, fileSizeBytes: 5, k: 2, m: 1, blockSizeBytes: 4096,
    datasetCount: 1, writtenAt: '2026-12-02T00:00:00.000Z', datasetChecksums: [7],
  }));
  const text = encodeCatalogSegment({ bucket, records }, nameHash);

  it('round-trips: a header line, then one sealed record per line', () => {
    expect(text.split('\n')).toHaveLength(records.length + 2);
    expect(decodeCatalogSegment(text, nameHash)).toEqual({ bucket, records, damagedLines: 0, ordered: true });
  });

  it('catalogSortKey orders names natively exactly as compareCatalogNames and UTF-8 bytes do', () => {
    const alphabet = ['a', 'b', '/', '.', '\u00e9', '\u4e2d', '\ud7ff', '\ue000', '\uf8ff', '\ufffd', '\uffff', '\u{10000}', '\u{1F600}', '\u{10FFFF}'];
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const names = Array.from({ length: 600 }, () => Array.from({ length: 1 + Math.floor(next() * 4) }, () => alphabet[Math.floor(next() * alphabet.length)]).join(''));
    for (let i = 0; i < names.length; i++) {
      for (let j = i; j < Math.min(names.length, i + 40); j++) {
        const [a, b] = [names[i], names[j]];
        const byKey = catalogSortKey(a) < catalogSortKey(b) ? -1 : catalogSortKey(a) > catalogSortKey(b) ? 1 : 0;
        expect([a, b, byKey]).toEqual([a, b, Math.sign(compareCatalogNames(a, b))]);
        expect([a, b, byKey]).toEqual([a, b, Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)))]);
      }
    }
    expect(catalogSortKey('plain/ascii name.txt')).toBe('plain/ascii name.txt');
  });

  it('is written in name order (code point order, not UTF-16), and a reader trusts the order only when the header says so and the lines keep it', () => {
    // U+FFFD is below U+1F600 by code point (and in UTF-8 bytes) but above its surrogates in UTF-16.
    expect(compareCatalogNames('a\uFFFD', 'a\u{1F600}')).toBeLessThan(0);
    expect('a\uFFFD' < 'a\u{1F600}').toBe(false);
    expect(['b', 'a/c', 'a', 'a\u{1F600}', 'a\uFFFD', 'ab'].sort(compareCatalogNames)).toEqual(['a', 'a/c', 'ab', 'a\uFFFD', 'a\u{1F600}', 'b']);
    for (const [x, y] of [['', 'a'], ['a', 'a'], ['a\u00e9', 'a\u{10000}']]) {
      expect(Math.sign(compareCatalogNames(x, y))).toBe(Math.sign(Buffer.compare(Buffer.from(x), Buffer.from(y))));
    }
    expect(() => encodeCatalogSegment({ bucket, records: [records[1], records[0]] }, nameHash)).toThrow(/name order/);
    expect(() => encodeCatalogSegment({ bucket, records: [records[0], records[0]] }, nameHash)).toThrow(/name order/);
    const lines = text.split('\n');
    const swapped = [lines[0], lines[2], lines[1], lines[3], ''].join('\n');
    expect(decodeCatalogSegment(swapped, nameHash)).toMatchObject({ damagedLines: 0, ordered: false });
    const olderHeader = sealJson({ format: 'rain-catalog-segment/1', bucket, records: 3 }) + lines.slice(1).join('\n');
    expect(decodeCatalogSegment(olderHeader, nameHash)).toMatchObject({ records, damagedLines: 0, ordered: false });
  });

  it('loses only the damaged line; a short file counts its missing lines; lines past the count are not read', () => {
    const lines = text.split('\n');
    const flipped = [...lines];
    flipped[2] = flipped[2].replace('"sequence":"101"', '"sequence":"102"');
    expect(decodeCatalogSegment(flipped.join('\n'), nameHash)?.records.map((r) => r.sequence)).toEqual([100n, 102n]);
    expect(decodeCatalogSegment(flipped.join('\n'), nameHash)?.damagedLines).toBe(1);
    expect(decodeCatalogSegment(lines.slice(0, 2).join('\n'), nameHash)).toMatchObject({ records: [records[0]], damagedLines: 2 });
    const extra = encodeCatalogRecord({ ...records[0], sequence: 999n });
    expect(decodeCatalogSegment(text + extra, nameHash)).toMatchObject({ records, damagedLines: 1 });
  });

  it('a lookup of a few names in a content-named segment searches its bytes once they hash to its name, else gives way to the line-by-line read', () => {
    const bytes = Buffer.from(text, 'utf8');
    const id = segmentContentId([bytes]);
    expect(lookUpInSegment(bytes, id, new Set([records[2].name, records[0].name, 'absent']), nameHash)).toEqual({ bucket, records: [records[0], records[2]], damagedLines: 0, ordered: true });
    expect(lookUpInSegment(bytes, id, new Set(['absent']), nameHash)).toEqual({ bucket, records: [], damagedLines: 0, ordered: true });
    // One flipped byte: the bytes are not what the name says, so nothing found in them is believed.
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 5] ^= 1;
    expect(lookUpInSegment(flipped, id, new Set([records[0].name]), nameHash)).toBeUndefined();
    expect(lookUpInSegment(bytes, id.replace(/^./, id[0] === '0' ? '1' : '0'), new Set([records[0].name]), nameHash)).toBeUndefined();
    // A name JSON escapes, and many names, are read line by line.
    let quoted = 0;
    while (!nameHash(`q"${quoted}`).startsWith(bucket)) quoted++;
    expect(lookUpInSegment(bytes, id, new Set([records[0].name, `q"${quoted}`]), nameHash)).toBeUndefined();
    expect(lookUpInSegment(bytes, id, new Set(Array.from({ length: 65 }, (_, i) => `n${i}`)), nameHash)).toBeUndefined();
  });

  it('a tombstone\'s line carries "deleted":true as bytes, which nothing else in a line can (a check\'s upkeep looks for it unread)', () => {
    const tombstone = encodeCatalogRecord({ ...records[0], deleted: true, name: 'x"deleted":true', datasetCount: 0, datasetChecksums: [] });
    expect(tombstone).toContain('"deleted":true');
    const live = encodeCatalogRecord({ ...records[0], name: 'a "deleted":true b' });
    expect(live).not.toContain('"deleted":true');
  });

  it('a lookup of some names decodes only their lines: others pass on their name and checksum, damage and order still seen', () => {
    const decodeCounted = (counter: { n: number }) => (line: string) => { counter.n++; return decodeCatalogRecord(line); };
    const counter = { n: 0 };
    const wanted = new Set([records[1].name]);
    expect(decodeCatalogSegment(text, nameHash, decodeCounted(counter), wanted)).toEqual({ bucket, records: [records[1]], damagedLines: 0, ordered: true });
    expect(counter.n).toBe(1);
    // A damaged line is decoded (its name cannot be trusted) and counted, wanted or not.
    const lines = text.split('\n');
    const flipped = [...lines];
    flipped[1] = flipped[1].replace('"sequence":"100"', '"sequence":"109"');
    expect(decodeCatalogSegment(flipped.join('\n'), nameHash, decodeCatalogRecord, wanted)).toMatchObject({ records: [records[1]], damagedLines: 1 });
    // Lines out of order are seen on the names of the lines passed over too.
    const swapped = [lines[0], lines[2], lines[1], lines[3], ''].join('\n');
    expect(decodeCatalogSegment(swapped, nameHash, decodeCatalogRecord, new Set([records[2].name]))).toMatchObject({ records: [records[2]], ordered: false });
    expect(decodeCatalogSegment(text, nameHash, decodeCatalogRecord, new Set(['not-there']))).toEqual({ bucket, records: [], damagedLines: 0, ordered: true });
  });

  it('believes nothing when the header is damaged, and no record of another bucket', () => {
    expect(decodeCatalogSegment(text.replace('"records":3', '"records":4'), nameHash)).toBeUndefined();
    expect(decodeCatalogSegment('', nameHash)).toBeUndefined();
    const other = nameHash('f0').slice(0, 2) === '00' ? '01' : '00';
    const foreign = encodeCatalogSegment({ bucket: other, records: [{ ...records[0], name: inBucket(other, 1)[0] }] }, nameHash);
    const smuggled = sealJson({ format: 'rain-catalog-segment/1', bucket, records: 1 }) + foreign.split('\n')[1] + '\n';
    expect(decodeCatalogSegment(smuggled, nameHash)).toEqual({ bucket, records: [], damagedLines: 1, ordered: false });
    expect(() => encodeCatalogSegment({ bucket: other, records }, nameHash)).toThrow(/does not belong/);
  });
});

describe('fault notes (docs/FORMAT.md §9)', () => {
  const note = { poolId: newId(), slot: 1, storeId: newId(), reason: 'disk full (ENOSPC): write x', errno: 'ENOSPC', command: 'put', atMs: 5, sinceMs: 4 };

  it('round-trip, and refuse what is not a sound note', () => {
    expect(decodeStoreFault(encodeStoreFault(note))).toEqual(note);
    const text = encodeStoreFault(note);
    expect(decodeStoreFault(text.replace('"slot":1', '"slot":2'))).toBeUndefined(); // checksum
    expect(decodeStoreFault(sealJson({ ...note, format: 'rain-store-fault/1', sinceMs: 6 }))).toBeUndefined(); // since after at
    expect(decodeStoreFault(sealJson({ ...note, format: 'rain-store-fault/1', errno: 'no such' }))).toBeUndefined();
    expect(decodeStoreFault(sealJson({ ...note, format: 'rain-store-fault/1', storeId: '../x' }))).toBeUndefined();
    expect(() => encodeStoreFault({ ...note, slot: -1 })).toThrow();
  });

  it('name the errno a failure gives in words', () => {
    expect(errnoNamedIn('store 2: disk full (ENOSPC): write /s/blocks')).toBe('ENOSPC');
    expect(errnoNamedIn('store 2 is missing: directory not found')).toBeUndefined();
  });
});
