/**
 * Things the bench must undo even when it fails or is interrupted: mounts first (a leftover
 * mount would keep its memory or loop device), then scratch directories. Cleanups run last-in,
 * first-out, each at most once.
 */
type Cleanup = () => Promise<void> | void;

const stack: { label: string; run: Cleanup }[] = [];
let signalsHooked = false;
let interrupted = false;

/** True once SIGINT or SIGTERM arrived (the run then ends early, on purpose). */
export function wasInterrupted(): boolean {
  return interrupted;
}

export function onCleanup(label: string, run: Cleanup): () => void {
  const entry = { label, run };
  stack.push(entry);
  hookSignals();
  return () => {
    const index = stack.indexOf(entry);
    if (index >= 0) stack.splice(index, 1);
  };
}

export async function runCleanups(): Promise<void> {
  while (stack.length > 0) {
    const entry = stack.pop();
    if (!entry) break;
    try {
      await entry.run();
    } catch (error) {
      process.stderr.write(`[bench] cleanup '${entry.label}' failed: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
}

function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      process.stderr.write(`\n[bench] ${signal}: cleaning up\n`);
      void runCleanups().finally(() => process.exit(130));
    });
  }
}
