import fs from 'node:fs';
import { fsPath } from '../format/wire-path.js';
import { crc32Of } from '../format/checksum.js';
import type { SourceReader } from '../dataset/encode.js';
import { readFullyAt } from '../store/inline-io.js';

/** One small file's part of a pack (docs/FORMAT.md §5.1): its bytes follow the previous file's. */
export interface PackSource {
  readonly path: string;
  readonly lengthBytes: number;
}

/**
 * A SourceReader over the files of one pack laid end to end. Each file is opened, read and closed
 * in turn (a pack holds thousands: keeping them open would run out of descriptors), and the CRC-32
 * of each file's bytes as read is pushed to `checksums` (its record's fileChecksum). A file shorter
 * than planned ends the read there: the pack is not written and its files are read again.
 */
export function packSourceReader(sources: readonly PackSource[], checksums: number[]): SourceReader {
  return async (into, length, position) => {
    if (position !== 0) throw new Error('a pack is one data set, read from its start');
    let offset = 0;
    for (const source of sources) {
      if (offset + source.lengthBytes > length) throw new Error('pack sources are longer than the pack');
      const fd = fs.openSync(fsPath(source.path), 'r');
      let got: number;
      try {
        got = await readFullyAt(fd, into, offset, source.lengthBytes, 0);
      } finally {
        fs.closeSync(fd);
      }
      if (got < source.lengthBytes) return offset + got;
      checksums.push(crc32Of(into.subarray(offset, offset + source.lengthBytes)));
      offset += source.lengthBytes;
    }
    return offset;
  };
}
