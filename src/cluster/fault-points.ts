/**
 * Named places where tests may crash or stall a process on purpose, to prove that an interrupted
 * agreement or write is finished by the next command. Inert unless RAIN_FAULT is set, e.g.
 *   RAIN_FAULT=worker-registered@2:kill     worker of slot 2 SIGKILLs itself after registering
 *   RAIN_FAULT=coordinator-confirmed:kill   the coordinator dies after all workers confirmed
 *   RAIN_FAULT=check-running:pause=3000     stall 3 s in the check phase
 * Several faults may be given, separated by commas.
 */
export async function faultPoint(name: string, slot?: number): Promise<void> {
  const spec = process.env.RAIN_FAULT;
  if (!spec) return;
  for (const entry of spec.split(',')) {
    const match = /^([a-z-]+)(?:@(\d+))?:(kill|pause=(\d+))$/.exec(entry.trim());
    if (!match || match[1] !== name) continue;
    if (match[2] !== undefined && Number(match[2]) !== slot) continue;
    if (match[3] === 'kill') {
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => undefined); // never resumes
    }
    await new Promise((resolve) => setTimeout(resolve, Number(match[4])));
  }
}
