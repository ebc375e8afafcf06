import { describe, expect, it } from '@jest/globals';
import { workerExecArgv } from '../../src/cluster/worker-channel.js';

describe('the node options a worker inherits', () => {
  it('keep the coordinator\'s runtime flags and drop every option that would run other code (a coordinator started with node -e would fork itself without end)', () => {
    expect(workerExecArgv(['--stack-trace-limit=20', '-e', "import('x').then(m => m.main())", '--enable-source-maps'])).toEqual(['--stack-trace-limit=20', '--enable-source-maps']);
    expect(workerExecArgv(['--eval=1', '-p', '2', '--print=3', '--input-type', 'module', '--require', './a.js', '--import=b', '-i'])).toEqual([]);
    expect(workerExecArgv(['--max-old-space-size=512'])).toEqual(['--max-old-space-size=512']);
  });
});
