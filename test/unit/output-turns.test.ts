import { describe, expect, it } from '@jest/globals';
import { OutputTurns } from '../../src/cluster/output-turns.js';

/** What each waiter did by the time pending promise callbacks have run. */
async function outcomes(waits: readonly Promise<void>[]): Promise<string[]> {
  const seen = waits.map(() => 'waiting');
  waits.forEach((w, i) => w.then(() => { seen[i] = 'go'; }, (e: unknown) => { seen[i] = `refused: ${(e as Error).message}`; }));
  await new Promise((resolve) => setImmediate(resolve));
  return seen;
}

describe('output turns (the order in which workers write standard output)', () => {
  it('lets a data set go only once its turn is granted, whether the grant comes before or after the wait', async () => {
    const turns = new OutputTurns();
    turns.grant('s1', 0, false);
    const w0 = turns.wait('s1', 0);
    const w2 = turns.wait('s1', 2);
    const w1 = turns.wait('s1', 1);
    expect(await outcomes([w0, w1, w2])).toEqual(['go', 'waiting', 'waiting']);
    turns.grant('s1', 1, false);
    expect(await outcomes([w1, w2])).toEqual(['go', 'waiting']);
    turns.grant('s1', 2, false);
    expect(await outcomes([w2])).toEqual(['go']);
  });

  it('never moves a turn backwards (a late grant of an earlier turn changes nothing)', async () => {
    const turns = new OutputTurns();
    turns.grant('s1', 3, false);
    turns.grant('s1', 1, false);
    expect(await outcomes([turns.wait('s1', 3), turns.wait('s1', 4)])).toEqual(['go', 'waiting']);
  });

  it('refuses every waiting and later data set once the stream is abandoned', async () => {
    const turns = new OutputTurns();
    turns.grant('s1', 0, false);
    const waiting = turns.wait('s1', 5);
    turns.grant('s1', 0, true);
    const later = turns.wait('s1', 6);
    const seen = await outcomes([waiting, later]);
    expect(seen.every((s) => s.startsWith('refused: the output stream was abandoned'))).toBe(true);
  });

  it('does not let a grant of one stream release another, and a new stream ends the old one', async () => {
    const turns = new OutputTurns();
    turns.grant('old', 0, false);
    const oldWaiter = turns.wait('old', 4);
    const early = turns.wait('new', 0); // its stream has not started: no turn yet
    expect(await outcomes([oldWaiter, early])).toEqual(['waiting', 'waiting']);
    turns.grant('new', 0, false);
    const seen = await outcomes([oldWaiter, early]);
    expect(seen[0]).toMatch(/^refused: the output stream was replaced/);
    expect(seen[1]).toBe('go');
  });
});
