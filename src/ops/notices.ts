/**
 * Operations report things the user should hear about while they work (a check being finished
 * first, a wait for another command) through one sink the CLI sets; ops themselves never print.
 */
let sink: (message: string) => void = () => undefined;

export function setNoticeSink(next: (message: string) => void): void {
  sink = next;
}

export function notice(message: string): void {
  sink(message);
}
