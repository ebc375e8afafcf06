import { HEARTBEAT_INTERVAL_MS } from '../cluster/timing.js';
import { newId } from '../format/ids.js';
import { hostName, removeIntent, writeIntent, type WriterIntent } from '../store/writer-intents.js';

/**
 * A writer's announcement of the versions it is about to write, kept fresh while it runs, so a
 * concurrent check leaves those versions alone instead of rolling them back under its feet.
 */
export class WriterHeartbeat {
  readonly writerId = newId();
  private versions: { fileId: string; sequence: string }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly storePaths: readonly string[]) {}

  /** Announce (durably enough: a lost intent only means a dead writer) before the first block. */
  async announce(versions: readonly { fileId: string; sequence: bigint }[]): Promise<void> {
    this.versions = versions.map((v) => ({ fileId: v.fileId, sequence: v.sequence.toString() }));
    await this.beat();
    if (!this.timer) {
      this.timer = setInterval(() => void this.beat(), HEARTBEAT_INTERVAL_MS);
      this.timer.unref();
    }
  }

  async finish(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.storePaths.map((p) => removeIntent(p, this.writerId).catch(() => undefined)));
  }

  private async beat(): Promise<void> {
    const intent: WriterIntent = { writerId: this.writerId, pid: process.pid, host: hostName(), at: Date.now(), versions: this.versions };
    await Promise.all(this.storePaths.map((p) => writeIntent(p, intent).catch(() => undefined)));
  }
}
