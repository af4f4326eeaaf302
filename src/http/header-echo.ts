import type { Context } from 'hono';

/** A request header as received: lowercase name and one value. Repeated headers repeat. */
export type HeaderField = readonly [name: string, value: string];

// Never copied into the response: hop-by-hop and framing headers (RFC 9110 section 7.6.1,
// RFC 9112), Host, credentials, our own headers, and headers that would make the echo
// control the client (set cookies, redirect, change decoding or security policy).
const NOT_ECHOED = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'content-type',
  'host',
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'content-encoding',
  'content-location',
  'content-range',
  'location',
  'refresh',
  'www-authenticate',
  'strict-transport-security',
  'content-security-policy',
  'content-security-policy-report-only',
  'clear-site-data',
  'alt-svc',
  'http2-settings',
  'expect',
  'date',
  'server',
  'version',
  'x-request-id',
]);
const NOT_ECHOED_PREFIXES = ['proxy-', 'access-control-'];

/** Headers whose values are credentials: listed by name only. */
const CREDENTIALS = new Set(['authorization', 'proxy-authorization', 'cookie']);

export const REDACTED = '[redacted]';

/** Returns whether a request header may be copied into the response. */
export function isEchoed(name: string): boolean {
  if (NOT_ECHOED.has(name)) return false;
  return !NOT_ECHOED_PREFIXES.some((prefix) => name.startsWith(prefix));
}

interface NodeBindings {
  incoming?: { rawHeaders?: readonly string[] };
}

/**
 * Lists the request's headers in arrival order, one entry per value.
 *
 * Under Node the raw header list keeps repeated headers apart; the fetch Headers object (the
 * only source in-process) joins them with commas.
 */
export function requestHeaderFields(c: Context): HeaderField[] {
  const raw = (c.env as NodeBindings | undefined)?.incoming?.rawHeaders;
  const fields: HeaderField[] = [];

  if (raw !== undefined) {
    for (let i = 0; i + 1 < raw.length; i += 2) {
      fields.push([(raw[i] ?? '').toLowerCase(), raw[i + 1] ?? '']);
    }
    return fields;
  }
  c.req.raw.headers.forEach((value, name) => fields.push([name, value]));
  return fields;
}

/** Appends every echoable field to the response headers, keeping repeated values apart. */
export function echoHeaders(fields: readonly HeaderField[], target: Headers): void {
  for (const [name, value] of fields) {
    if (!isEchoed(name)) continue;
    try {
      target.append(name, value);
    } catch {
      // A value the fetch Headers class rejects (characters outside Latin-1) is left out.
    }
  }
}

/** Formats the fields as `name: value` lines, with credentials redacted. */
export function describeHeaders(fields: readonly HeaderField[]): string {
  let text = '';
  for (const [name, value] of fields) {
    text += `${name}: ${CREDENTIALS.has(name) ? REDACTED : value}\n`;
  }
  return text;
}
