/**
 * docs/FORMAT.md is the contract a second decoder is written from. Its worked examples are read
 * out of the document here and checked against the code, so the document cannot drift from it:
 * if this fails, fix whichever is wrong, and never the code alone (the bytes are the format).
 */
import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { gfInv, gfMul } from '../../src/codec/gf256.js';
import { createCodec } from '../../src/codec/reed-solomon.js';
import { decodeCatalogRecord } from '../../src/format/catalog-record.js';
import { crc32OfText } from '../../src/format/checksum.js';
import { decodeManifest, decodeStoreIdentity } from '../../src/format/manifest.js';
import { placeDataset } from '../../src/format/placement.js';
import { hash32 } from '../../src/format/rendezvous.js';
import { isRecord, sealJson, unsealJson } from '../../src/format/sealed-json.js';

const DOC = fs.readFileSync(path.resolve(import.meta.dirname, '..', '..', 'docs', 'FORMAT.md'), 'utf8');

/** The text of the section under `heading` (a whole heading line), up to the next heading of any level. */
function section(heading: string): string {
  const lines = DOC.split('\n');
  const start = lines.findIndex((line) => line === heading || line.startsWith(`${heading} `));
  if (start < 0) throw new Error(`docs/FORMAT.md has no heading '${heading}'`);
  const end = lines.findIndex((line, i) => i > start && /^#{1,6} /.test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

function matchOne(text: string, pattern: RegExp, what: string): RegExpMatchArray {
  const match = pattern.exec(text);
  if (!match) throw new Error(`docs/FORMAT.md: cannot find ${what}`);
  return match;
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

describe('FORMAT.md §5 Reed-Solomon known answer', () => {
  const text = section('### Reed-Solomon code');
  const [, kText, mText, lengthText] = matchOne(text, /^k = (\d+), m = (\d+), shard length (\d+)$/m, 'the known-answer geometry line');
  const k = Number(kText);
  const m = Number(mText);
  const length = Number(lengthText);
  const rows = (prefix: string): RegExpMatchArray[] => [...text.matchAll(new RegExp(`^${prefix}_(\\d+) +([0-9a-f]+)$`, 'gm'))];
  const dataHex = rows('data').map((row) => row[2]);
  const parityHex = rows('parity').map((row) => row[2]);

  it('lists k data blocks and m parity blocks of the stated shard length', () => {
    expect([k, m, length]).toEqual([4, 2, 16]);
    expect(rows('data').map((row) => Number(row[1]))).toEqual(Array.from({ length: k }, (_, c) => c));
    expect(rows('parity').map((row) => Number(row[1]))).toEqual(Array.from({ length: m }, (_, r) => r));
    expect(dataHex).toHaveLength(k);
    expect(parityHex).toHaveLength(m);
    for (const hex of [...dataHex, ...parityHex]) expect(hex).toHaveLength(2 * length);
  });

  it('its data blocks follow the stated rule, byte i of block c = (c × 31 + i × 7) mod 256', () => {
    expect(text).toContain('(c × 31 + i × 7) mod 256');
    dataHex.forEach((hex, c) => expect([...hexBytes(hex)]).toEqual(Array.from({ length }, (_, i) => (c * 31 + i * 7) % 256)));
  });

  it.each(['js', 'wasm-simd'] as const)('the %s kernel encodes its data to its parity bytes', (kernel) => {
    const parity = Array.from({ length: m }, () => new Uint8Array(length));
    createCodec(k, m, { kernel }).encode(dataHex.map(hexBytes), parity);
    expect(parity.map((p) => Buffer.from(p).toString('hex'))).toEqual(parityHex);
  });

  it('its parity decodes back to the data (data blocks 0 and 1 missing)', () => {
    const shards = [...dataHex, ...parityHex].map(hexBytes);
    const present = shards.map((_, b) => b >= 2);
    shards[0].fill(0);
    shards[1].fill(0);
    createCodec(k, m).reconstruct(shards, present);
    expect(shards.slice(0, k).map((s) => Buffer.from(s).toString('hex'))).toEqual(dataHex);
  });

  it('its worked byte parity_0[0] holds', () => {
    const [, coefficients] = matchOne(text, /gfInv\(7\) = ([\d, ]+), and/, 'the coefficients of the worked byte');
    const coef = coefficients.split(',').map((c) => Number(c.trim()));
    expect(coef).toEqual(Array.from({ length: k }, (_, c) => gfInv(k ^ c)));
    const data = dataHex.map(hexBytes);
    expect(coef.reduce((acc, c, i) => acc ^ gfMul(c, data[i][0]), 0)).toBe(hexBytes(parityHex[0])[0]);
  });
});

describe('FORMAT.md sealed JSON examples', () => {
  const sealedLines = DOC.split('\n').map((line) => line.trim()).filter((line) => line.startsWith('{"crc32":') && /^\{"crc32":\d/.test(line));

  it('the document has its examples (identity, live record, tombstone)', () => {
    expect(sealedLines.length).toBeGreaterThanOrEqual(3);
  });

  it('every sealed line has the CRC the code computes, and is exactly what the code writes', () => {
    for (const line of sealedLines) {
      const [, crcText, body] = matchOne(line, /^\{"crc32":(\d+),"body":(.*)\}$/, `the frame of ${line}`);
      expect(crc32OfText(body)).toBe(Number(crcText));
      const unsealed = unsealJson(`${line}\n`);
      expect(unsealed.ok).toBe(true);
      if (unsealed.ok) expect(sealJson(unsealed.body as object)).toBe(`${line}\n`);
    }
  });

  it('every sealed line decodes as what its format says', () => {
    for (const line of sealedLines) {
      const unsealed = unsealJson(line);
      if (!unsealed.ok || !isRecord(unsealed.body)) throw new Error(`does not unseal: ${line}`);
      const format = unsealed.body.format;
      const ok = format === 'rain-store/1' ? decodeStoreIdentity(line).ok
        : format === 'rain-pool/1' ? decodeManifest(line).ok
          : format === 'rain-catalog/1' ? decodeCatalogRecord(line).ok : false;
      expect([format, ok]).toEqual([format, true]);
    }
  });

  it('the identity example: its stated lengths and CRC', () => {
    const text = section('## 2. Sealed JSON');
    const line = matchOne(text, /^\{"crc32":\d+,"body":\{"format":"rain-store\/1".*$/m, 'the identity example')[0];
    const [, total] = matchOne(text, /the whole file, (\d+)\s+bytes/, 'the identity file length');
    const [, bodyLength, crcDecimal, crcHex] = matchOne(text, /is the (\d+) bytes from `\{"format"` to `2\}`, and their CRC-32 is (\d+)\s+\(0x([0-9A-F]{8})\)/, 'the identity body length and CRC');
    const body = line.slice('{"crc32":'.length).replace(/^\d+,"body":/, '').slice(0, -1);
    expect(Buffer.byteLength(`${line}\n`)).toBe(Number(total));
    expect(Buffer.byteLength(body)).toBe(Number(bodyLength));
    expect(crc32OfText(body)).toBe(Number(crcDecimal));
    expect(crc32OfText(body)).toBe(parseInt(crcHex, 16));
  });

  it('the tombstone example is the live record deleted as the document says', () => {
    const records = sealedLines.map((line) => decodeCatalogRecord(line)).flatMap((r) => (r.ok ? [r.record] : []));
    const tombstone = records.find((r) => r.deleted);
    const live = records.find((r) => !r.deleted && r.name === tombstone?.name);
    if (!tombstone || !live) throw new Error('docs/FORMAT.md: no tombstone example with its live record');
    expect(tombstone.sequence > live.sequence).toBe(true);
    expect(tombstone.datasetSequences).toBeUndefined();
    const { sequence: _s1, deleted: _d1, writtenAt: _w1, datasetSequences: _q1, ...liveRest } = live;
    const { sequence: _s2, deleted: _d2, writtenAt: _w2, datasetSequences: _q2, ...tombstoneRest } = tombstone;
    expect(tombstoneRest).toEqual(liveRest);
  });
});

describe('FORMAT.md §5 placement example', () => {
  const text = section('### Placement');
  const [, fileId] = matchOne(text, /F = `([0-9a-f]{32})`/, 'the example file id');
  const [, firstSlot, lastSlot, width] = matchOne(text, /slots (\d+)–(\d+), k \+ m = (\d+)/, 'the example slots');
  const slots = Array.from({ length: Number(lastSlot) - Number(firstSlot) + 1 }, (_, i) => Number(firstSlot) + i);
  const rows = [...text.matchAll(/^d = (\d+) +seed ([0-9a-f]{8}) +weights ((?:\d+:[0-9a-f]{8} *)+) +placement ([\d ]+)$/gm)];

  it('has a row per data set of the example', () => {
    expect(rows.length).toBeGreaterThanOrEqual(2);
  });

  it('each row has the seed, weights and placement the code computes', () => {
    for (const [, d, seedHex, weightsText, placementText] of rows) {
      const seed = hash32(`place:${fileId}/${d}`);
      expect(seed).toBe(parseInt(seedHex, 16));
      const weights = weightsText.trim().split(/ +/).map((pair) => pair.split(':'));
      expect(weights.map(([slot]) => Number(slot))).toEqual(slots);
      for (const [slot, weight] of weights) expect(hash32(slot, seed)).toBe(parseInt(weight, 16));
      expect(placeDataset(fileId, Number(d), slots, Number(width))).toEqual(placementText.trim().split(/ +/).map(Number));
    }
  });

  it('the placements with more slots hold', () => {
    const [, first, last, ...placed] = matchOne(text, /With slots (\d+)–(\d+) instead, the same data sets are placed on ([\d ]+?) and ([\d ]+?)\./, 'the wider example');
    const wide = Array.from({ length: Number(last) - Number(first) + 1 }, (_, i) => Number(first) + i);
    rows.forEach(([, d], i) => {
      expect(placeDataset(fileId, Number(d), wide, Number(width))).toEqual(placed[i].trim().split(/ +/).map(Number));
    });
  });
});
