import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ExitCode, RainError, ioError, type ExitCodeValue } from '../rain-error.js';
import type { WorkerReply, WorkerRequest } from './protocol.js';

export const WORKER_NODE_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=256'];

/** The compiled worker entry point; tests that run the TypeScript sources still use the build. */
export function workerScriptPath(): string {
  const here = fileURLToPath(new URL('./worker-main.js', import.meta.url));
  if (existsSync(here)) return here;
  const built = here.replace(/([\\/])src([\\/])cluster([\\/])worker-main\.js$/, '$1dist$2cluster$3worker-main.js');
  if (existsSync(built)) return built;
  throw ioError(`rain's worker program is missing (${here}); run 'npm run build'`);
}

/** The coordinator's end of one worker process: request/reply over IPC, failure if it dies. */
export class WorkerHandle {
  readonly slot: number;
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private exited: string | undefined;
  inFlight = 0;

  constructor(slot: number, storePath: string) {
    this.slot = slot;
    this.child = fork(workerScriptPath(), ['--slot', String(slot), '--store', storePath], {
      // Workers allocate few short-lived JS objects (bytes live in reused Buffers), so a small
      // young generation costs nothing in speed and keeps each process's footprint small.
      execArgv: [...process.execArgv, ...WORKER_NODE_FLAGS],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.child.on('message', (raw: unknown) => this.onReply(raw as WorkerReply));
    this.child.on('exit', (code, signal) => this.onExit(signal ? `killed by ${signal}` : `exited with code ${code}`));
    this.child.on('error', (error) => this.onExit(`failed: ${error.message}`));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  request<T>(request: WorkerRequest): Promise<T> {
    if (this.exited !== undefined) return Promise.reject(ioError(`the worker of store ${this.slot} ${this.exited}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.inFlight++;
      this.child.send({ id, request }, (error) => {
        if (error) this.settle(id, undefined, ioError(`cannot reach the worker of store ${this.slot}: ${error.message}`));
      });
    });
  }

  private onReply(reply: WorkerReply): void {
    if (reply.ok) {
      this.settle(reply.id, reply.result, undefined);
      return;
    }
    const exitCode = Number(reply.code);
    const known = Object.values(ExitCode).includes(exitCode as ExitCodeValue);
    this.settle(reply.id, undefined, known ? new RainError(exitCode as ExitCodeValue, reply.error) : ioError(reply.error));
  }

  private settle(id: number, value: unknown, error: Error | undefined): void {
    const waiter = this.pending.get(id);
    if (!waiter) return;
    this.pending.delete(id);
    this.inFlight--;
    if (error) waiter.reject(error);
    else waiter.resolve(value);
  }

  private onExit(how: string): void {
    if (this.exited !== undefined) return;
    this.exited = how;
    for (const id of [...this.pending.keys()]) this.settle(id, undefined, ioError(`the worker of store ${this.slot} ${how}`));
  }

  async close(): Promise<void> {
    if (this.exited !== undefined) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    await gone;
  }
}
