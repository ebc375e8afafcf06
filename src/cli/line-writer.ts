/**
 * Output written as it is produced, for listings too long to hold (ls of millions of names): text
 * is gathered into writes of about 64 KiB, and the producer waits while stdout's reader is behind,
 * so memory does not grow with the listing. A reader that went away (`rain ls | head`) ends the
 * writing quietly: `closed` tells the producer to stop.
 */
export class LineWriter {
  private batch: string[] = [];
  private batchChars = 0;
  private broken = false;

  constructor(private readonly stream: NodeJS.WritableStream = process.stdout) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') this.broken = true;
      else throw error;
    });
  }

  get closed(): boolean {
    return this.broken;
  }

  /** Adds text (with its own newlines); resolves at once unless a write is due and stdout's buffer is full. */
  async write(text: string): Promise<void> {
    this.batch.push(text);
    this.batchChars += text.length;
    if (this.batchChars >= BATCH_CHARS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.batch.length === 0 || this.broken) return;
    const text = this.batch.join('');
    this.batch = [];
    this.batchChars = 0;
    if (this.stream.write(text)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('error', done);
    });
  }
}

const BATCH_CHARS = 64 * 1024;
