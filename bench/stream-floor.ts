import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { SourceFile } from './data-generator.js';
import type { FloorLayout, FloorRun } from './io-floor.js';

/**
 * The put floor written the way the issue first described it, with fs streams (informational):
 * the same part files as writeFloor, through a ReadStream and one WriteStream per part, each
 * fsynced at the end. A ReadStream allocates a fresh buffer per chunk, where the put floor
 * reuses two; the row shows what that costs.
 */
export async function writeFloorWithStreams(sources: readonly SourceFile[], layout: FloorLayout): Promise<FloorRun> {
  let bytesRead = 0;
  let bytesWritten = 0;
  for (const source of sources) {
    const handles = await Promise.all(layout.dirs.map((dir) => fs.open(`${path.join(dir, source.name)}.streamed`, 'wx')));
    try {
      // A stream over the raw fd, not FileHandle.createWriteStream: on Node 20 that one keeps the
      // handle busy after end() and a later handle.sync() never settles.
      const streams = handles.map((h) => createWriteStream('', { fd: h.fd, highWaterMark: 4 * layout.chunkBytes, autoClose: false }));
      const parity = streams.slice(layout.k);
      let index = 0;
      let stripeLast: Buffer | undefined;
      const writeTo = async (stream: WriteStream, chunk: Buffer): Promise<void> => {
        bytesWritten += chunk.length;
        if (!stream.write(chunk)) await once(stream, 'drain');
      };
      for await (const raw of createReadStream(source.path, { highWaterMark: layout.chunkBytes })) {
        const chunk = raw as Buffer;
        bytesRead += chunk.length;
        await writeTo(streams[index % layout.k], chunk);
        stripeLast = chunk;
        index++;
        if (index % layout.k === 0) for (const p of parity) await writeTo(p, chunk);
      }
      if (index % layout.k !== 0 && stripeLast) for (const p of parity) await writeTo(p, stripeLast);
      await Promise.all(streams.map((s) => new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.end(() => resolve());
      })));
      await Promise.all(handles.map((h) => h.sync()));
    } finally {
      await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
    }
  }
  return { bytesRead, bytesWritten };
}
