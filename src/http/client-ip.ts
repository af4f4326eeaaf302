import { isIP, type BlockList } from 'node:net';

// A longer X-Forwarded-For is walked only this far from the right. Real proxy chains are far
// shorter, and the cap bounds the work an abusive header can cause.
const MAX_FORWARDED_HOPS = 32;

/** Strips the IPv4-mapped IPv6 prefix (::ffff:10.0.0.1) that dual-stack sockets report. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function isTrusted(address: string, trusted: BlockList): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Resolves the client address of a request.
 *
 * The socket peer is the client unless it is a trusted proxy. Then X-Forwarded-For is walked
 * from the right, past trusted proxies, and the first untrusted address is the client. Entries
 * left of that one were written by the client itself and are never believed.
 *
 * @param peer the socket's remote address, or undefined when there is no socket (in-process).
 * @param forwardedFor the X-Forwarded-For header values, joined with commas.
 */
export function resolveClientIp(
  peer: string | undefined,
  forwardedFor: string | undefined,
  trusted: BlockList,
): string {
  if (peer === undefined) return 'unknown';

  let client = normalizeAddress(peer);
  if (!forwardedFor || !isTrusted(client, trusted)) return client;

  const hops = forwardedFor.split(',');
  const lowest = Math.max(0, hops.length - MAX_FORWARDED_HOPS);
  for (let i = hops.length - 1; i >= lowest; i -= 1) {
    const hop = normalizeAddress((hops[i] ?? '').trim());
    // A malformed entry ends the walk: nothing left of it can be attributed to a proxy.
    if (isIP(hop) === 0) break;

    client = hop;
    if (!isTrusted(hop, trusted)) break;
  }
  return client;
}
