import type { Context } from 'hono';

import { nodeBindings } from './node-bindings.ts';
import type { HeaderAppender } from './response-headers.ts';

/** A request header as received: lowercase name and one value. Repeated headers repeat. */
export type HeaderField = readonly [name: string, value: string];

// Never copied into the response: hop-by-hop and framing headers (RFC 9110 section 7.6.1,
// RFC 9112), Host, credentials and our own headers. Also left out are headers that would let
// the echo control the client or a shared cache: they set cookies, redirect, or change
// decoding, caching or security policy. Every `content-*` header describes the response body, so the whole
// family is left out by prefix.
const NOT_ECHOED = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'cookie',
  'set-cookie',
  'location',
  'refresh',
  'www-authenticate',
  'strict-transport-security',
  'clear-site-data',
  'alt-svc',
  'http2-settings',
  'expect',
  'date',
  'server',
  'version',
  'x-request-id',
  'cache-control',
  'expires',
  'pragma',
  'age',
  'vary',
  'etag',
  'last-modified',
  'x-content-type-options',
]);
const NOT_ECHOED_PREFIXES = ['proxy-', 'access-control-', 'content-'];

// Names that carry credentials by convention: Authorization, Cookie, and any name with a
// dash-separated part such as auth, token, key, secret or session (X-Api-Key,
// X-Auth-Token, X-Amz-Security-Token, X-CSRF-Token). Their values are never echoed, and
// the body lists them redacted. NOTE: a credential under a name outside this pattern is
// still echoed back to the client that sent it.
const CREDENTIAL_NAME =
  /(?:^|-)(?:auth|authorization|token|key|apikey|secret|password|passwd|session|cookie|credentials?|signature|jwt|assertion)(?:-|$)/;

export const REDACTED = '[redacted]';

/** Returns whether a header name conventionally carries a credential. */
export function isCredential(name: string): boolean {
  return CREDENTIAL_NAME.test(name);
}

/** Returns whether a request header may be copied into the response. */
export function isEchoed(name: string): boolean {
  if (NOT_ECHOED.has(name) || isCredential(name)) return false;
  return !NOT_ECHOED_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/**
 * Lists the header names that the Connection header marks as hop-by-hop for this request
 * (RFC 9110 section 7.6.1), lowercase.
 */
function connectionOptions(fields: readonly HeaderField[]): Set<string> {
  const names = new Set<string>();
  for (const [name, value] of fields) {
    if (name !== 'connection') continue;
    for (const option of value.split(',')) names.add(option.trim().toLowerCase());
  }
  return names;
}

/**
 * Lists the request's headers in arrival order, one entry per value.
 *
 * Under Node the raw header list keeps repeated headers apart; the fetch Headers object (the
 * only source in-process) joins them with commas.
 */
export function requestHeaderFields(c: Context): HeaderField[] {
  const raw = nodeBindings(c)?.incoming?.rawHeaders;
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

/**
 * Appends every echoable field to the response headers. Under Node repeated fields go out as
 * separate lines. In-process the fetch Headers class joins them with commas, which RFC 9110
 * section 5.3 treats as equal.
 */
export function echoHeaders(fields: readonly HeaderField[], append: HeaderAppender): void {
  const hopByHop = connectionOptions(fields);
  for (const [name, value] of fields) {
    if (!isEchoed(name) || hopByHop.has(name)) continue;
    try {
      append(name, value);
    } catch {
      // A value that Node or the fetch Headers class rejects as invalid is left out.
    }
  }
}

/**
 * Marks a response that reflects the request as private to that client: no shared cache may
 * store it (it would serve one client's headers to another), and browsers must not sniff the
 * reflected text as HTML.
 */
export function markReflected(set: HeaderAppender): void {
  set('Cache-Control', 'no-store');
  set('X-Content-Type-Options', 'nosniff');
}

/**
 * Sends text that lists reflected headers as UTF-8 bytes. Node writes header values as
 * Latin-1, but it prepends them to a string body and encodes both as UTF-8, which would change
 * echoed non-ASCII bytes. With a byte body Node writes the headers apart from it.
 */
export function reflectedText(c: Context, text: string): Response {
  return c.body(Buffer.from(text, 'utf8'), 200, { 'Content-Type': 'text/plain; charset=UTF-8' });
}

/** Formats the fields as `name: value` lines, with credentials redacted. */
export function describeHeaders(fields: readonly HeaderField[]): string {
  let text = '';
  for (const [name, value] of fields) {
    text += `${name}: ${isCredential(name) ? REDACTED : value}\n`;
  }
  return text;
}
