import v8 from 'node:v8';

/**
 * Messages to and from a worker on another host travel over the ssh channel's stdin and stdout
 * as frames: a 4-byte big-endian length, then the message in V8's structured-clone format (the
 * same serialisation Node's IPC uses for local workers, so bigint and byte arrays cross intact).
 */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

export function encodeFrame(message: unknown): Buffer {
  const body = v8.serialize(message);
  if (body.length > MAX_FRAME_BYTES) throw new Error(`message of ${body.length} bytes exceeds the frame limit`);
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** Reassembles frames from arbitrary stream chunks; a corrupt length stops the stream for good. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;

  push(chunk: Buffer): unknown[] {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    const messages: unknown[] = [];
    for (;;) {
      if (this.bufferedBytes < 4) break;
      const head = this.peek(4);
      const bodyBytes = head.readUInt32BE(0);
      if (bodyBytes > MAX_FRAME_BYTES) throw new Error(`frame of ${bodyBytes} bytes announced: the stream is not rain's worker protocol`);
      if (this.bufferedBytes < 4 + bodyBytes) break;
      const frame = this.take(4 + bodyBytes);
      messages.push(v8.deserialize(frame.subarray(4)));
    }
    return messages;
  }

  private peek(bytes: number): Buffer {
    if (this.chunks[0].length < bytes) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0].subarray(0, bytes);
  }

  private take(bytes: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const frame = all.subarray(0, bytes);
    const rest = all.subarray(bytes);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.bufferedBytes -= bytes;
    return frame;
  }
}
