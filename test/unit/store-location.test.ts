import { execFileSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { encodeFrame, FrameReader } from '../../src/cluster/frames.js';
import { parseStoreLocation, shellQuote } from '../../src/store/store-location.js';

describe('store locations', () => {
  it('parses ssh:// with user, host and port, and keeps the URL as the store path', () => {
    expect(parseStoreLocation('ssh://me@beta:2222/srv/rain/d1/')).toEqual({
      kind: 'ssh', url: 'ssh://me@beta:2222/srv/rain/d1', user: 'me', host: 'beta', port: 2222, path: '/srv/rain/d1',
    });
    expect(parseStoreLocation('ssh://[::1]/x')).toMatchObject({ kind: 'ssh', host: '::1', path: '/x' });
  });

  it('keeps spaces, quotes and $ in a remote path, and escapes only %, # and ? in the URL', () => {
    const parsed = parseStoreLocation("ssh://h/data/my disk/it's $HOME/50%25");
    expect(parsed).toMatchObject({ kind: 'ssh', path: "/data/my disk/it's $HOME/50%" });
    if (!('error' in parsed) && parsed.kind === 'ssh') expect(parseStoreLocation(parsed.url)).toEqual(parsed);
  });

  it.each([
    'ssh://-oProxyCommand=evil/x', 'ssh://host', 'ssh:///x', 'ssh://a;b@h/x', 'ssh://h:99999/x', 'ssh://h/a/../b',
    'ssh://h/a//b', 'ssh://h/a\nb', 'ssh://h/a\u0000b', 'ssh://h/50%zz', 'ssh://h:22', 'ssh://h$(x)/y',
  ])('refuses %j', (given) => {
    const parsed = parseStoreLocation(given);
    expect(parsed).toHaveProperty('error');
    expect(('error' in parsed ? parsed.error : '').includes('\n')).toBe(false);
  });

  it('resolves a local path and refuses control characters in it', () => {
    expect(parseStoreLocation('rel/dir')).toMatchObject({ kind: 'local' });
    expect(parseStoreLocation('/a\nb')).toHaveProperty('error');
  });

  it('quotes words so a POSIX shell gives back exactly the same word', () => {
    for (const word of ['/plain/path', "it's", 'a b', '$HOME', '`id`', '"q"', '\\', '*', "'; rm -rf / #", '']) {
      const echoed = execFileSync('sh', ['-c', `printf %s ${shellQuote(word)}`]).toString();
      expect(echoed).toBe(word);
    }
  });
});

describe('worker frames over a byte stream', () => {
  it('reassembles messages split at any byte, keeping bigint and byte arrays', () => {
    const messages = [{ id: 1, request: { op: 'flush' } }, { id: 2, ok: true, result: { sequence: 12345678901234567890n, bytes: new Uint8Array([1, 2, 3]) } }];
    const stream = Buffer.concat(messages.map(encodeFrame));
    for (const step of [1, 3, 7, stream.length]) {
      const reader = new FrameReader();
      const out: unknown[] = [];
      for (let i = 0; i < stream.length; i += step) out.push(...reader.push(stream.subarray(i, i + step)));
      expect(out).toEqual(messages);
    }
  });

  it('refuses a stream that is not the protocol (a shell banner instead of frames)', () => {
    expect(() => new FrameReader().push(Buffer.from('Welcome to beta!\n'))).toThrow(/not rain's worker protocol/);
  });
});
