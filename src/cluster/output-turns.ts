import fs from 'node:fs';
import net from 'node:net';

/**
 * The file descriptor at which a local worker holds the coordinator's standard output (ForkChannel
 * passes it in the fork's stdio array), so `rain get NAME | consumer` goes from the workers
 * straight to the pipe instead of through the coordinator's IPC channel and heap.
 */
export const SHARED_STDOUT_FD = 4;

/** How long to wait before retrying a write that found a non-blocking terminal busy (EAGAIN). */
const BUSY_DESCRIPTOR_RETRY_MS = 2;

interface Waiter {
  readonly stream: string;
  readonly index: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * Data sets of one output stream are decoded by several workers at once but must reach the
 * stream in order. The coordinator grants turns: "stream S may now take data set N". A decoded
 * data set waits here for its turn, holding its buffer (bounded by the per-worker request limit),
 * then is written and answered, and that answer is what makes the coordinator grant turn N+1.
 */
export class OutputTurns {
  private stream: string | undefined;
  private next = 0;
  private abandoned = false;
  private waiters: Waiter[] = [];

  /** A new stream starts afresh, so a grant of an earlier stream never lets a later one through. */
  grant(stream: string, next: number, abandoned: boolean): void {
    if (stream !== this.stream) {
      // One stream at a time: waiters of any other stream will never get their turn.
      for (const waiter of this.waiters) if (waiter.stream !== stream) waiter.reject(new Error('the output stream was replaced by another'));
      this.waiters = this.waiters.filter((waiter) => waiter.stream === stream);
      this.stream = stream;
      this.next = 0;
      this.abandoned = false;
    }
    this.next = Math.max(this.next, next);
    this.abandoned ||= abandoned;
    const still: Waiter[] = [];
    for (const waiter of this.waiters) if (!this.release(waiter)) still.push(waiter);
    this.waiters = still;
  }

  wait(stream: string, index: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter = { stream, index, resolve, reject };
      if (!this.release(waiter)) this.waiters.push(waiter);
    });
  }

  private release(waiter: Waiter): boolean {
    if (waiter.stream !== this.stream) return false;
    if (this.abandoned) waiter.reject(new Error('the output stream was abandoned (an earlier data set failed)'));
    else if (waiter.index <= this.next) waiter.resolve();
    else return false;
    return true;
  }
}

/**
 * The shared stdout as this worker writes it. A pipe or socket may be in non-blocking mode (the
 * flag belongs to the open file, and whoever opened it, the coordinator's Node among them, may
 * have set it), so it is driven through libuv's stream, which waits for room with epoll instead
 * of spinning on EAGAIN. Files, terminals and devices take plain writes.
 */
export class SharedStdout {
  private socket: net.Socket | undefined;
  private checked = false;

  async write(bytes: Uint8Array): Promise<void> {
    if (!this.checked) {
      this.checked = true;
      const stat = fs.fstatSync(SHARED_STDOUT_FD);
      if (stat.isFIFO() || stat.isSocket()) {
        this.socket = new net.Socket({ fd: SHARED_STDOUT_FD, readable: false, writable: true });
        // Errors reach the write's callback; without a listener the 'error' event would end the worker.
        this.socket.on('error', () => undefined);
      }
    }
    const socket = this.socket;
    if (socket) {
      await new Promise<void>((resolve, reject) => {
        socket.write(bytes, (error) => (error ? reject(error) : resolve()));
      });
      return;
    }
    await writeAllToDescriptor(SHARED_STDOUT_FD, bytes);
  }
}

/** Writes all of `bytes` to a descriptor that is not a pipe; EAGAIN (a non-blocking terminal) is retried. */
async function writeAllToDescriptor(fd: number, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    try {
      written += await new Promise<number>((resolve, reject) => {
        fs.write(fd, bytes, written, bytes.length - written, null, (error, count) => (error ? reject(error) : resolve(count)));
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      await new Promise((resolve) => setTimeout(resolve, BUSY_DESCRIPTOR_RETRY_MS));
    }
  }
}
