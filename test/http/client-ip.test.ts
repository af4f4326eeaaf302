import { describe, expect, it } from 'vitest';

import { parseCidrList } from '../../src/config/config.ts';
import { resolveClientIp } from '../../src/http/client-ip.ts';

const loopback = parseCidrList('TRUSTED_PROXIES', '127.0.0.0/8,::1/128').list;
const cluster = parseCidrList('TRUSTED_PROXIES', '127.0.0.1, 10.0.0.0/8, fd00::/8').list;

describe('resolveClientIp', () => {
  it.each([
    ['untrusted peer ignores the header', '198.51.100.7', '203.0.113.9', loopback, '198.51.100.7'],
    ['no header gives the peer', '127.0.0.1', undefined, loopback, '127.0.0.1'],
    [
      'trusted peer gives the right-most entry',
      '127.0.0.1',
      '203.0.113.9',
      loopback,
      '203.0.113.9',
    ],
    [
      'a spoofed left entry is skipped',
      '127.0.0.1',
      '1.2.3.4, 203.0.113.9',
      loopback,
      '203.0.113.9',
    ],
    [
      'trusted hops are walked past',
      '10.0.0.5',
      '1.2.3.4, 203.0.113.9, 10.1.1.1',
      cluster,
      '203.0.113.9',
    ],
    ['all trusted hops give the left-most', '10.0.0.5', '10.0.0.1, 10.0.0.2', cluster, '10.0.0.1'],
    [
      'a malformed entry stops the walk',
      '127.0.0.1',
      '203.0.113.9, not-an-ip',
      loopback,
      '127.0.0.1',
    ],
    [
      'IPv4-mapped peers are normalized',
      '::ffff:127.0.0.1',
      '203.0.113.9',
      loopback,
      '203.0.113.9',
    ],
    ['IPv6 loopback is trusted', '::1', '2001:db8::1', loopback, '2001:db8::1'],
    ['IPv6 ranges match', 'fd00::2', '2001:db8::7', cluster, '2001:db8::7'],
    ['no socket gives unknown', undefined, '203.0.113.9', loopback, 'unknown'],
  ] as const)('%s', (_name, peer, header, trusted, expected) => {
    expect(resolveClientIp(peer, header, trusted)).toBe(expected);
  });

  it('bounds the walk over a long header', () => {
    const hops = Array.from({ length: 10_000 }, () => '127.0.0.1').join(',');

    expect(resolveClientIp('127.0.0.1', `203.0.113.9,${hops}`, loopback)).toBe('127.0.0.1');
  });
});
