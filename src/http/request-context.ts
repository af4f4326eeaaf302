import { randomUUID } from 'node:crypto';

import type { Context } from 'hono';

import { nodeBindings } from './node-bindings.ts';

// Request ids from callers are echoed into headers and logs, so only short ids made of
// characters that are safe in both are taken. Anything else is replaced.
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

// W3C Trace Context, version 00: version-trace_id-parent_id-flags, all lowercase hex.
const TRACEPARENT_PATTERN = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** Returns the caller's X-Request-Id when it is safe to echo, otherwise a new UUID. */
export function resolveRequestId(header: string | undefined): string {
  return header !== undefined && REQUEST_ID_PATTERN.test(header) ? header : randomUUID();
}

/** Trace and parent span ids of a valid W3C traceparent header, for log correlation. */
export interface TraceIds {
  readonly traceId: string;
  readonly spanId: string;
}

/** Parses a W3C traceparent header; returns undefined for a missing or invalid one. */
export function parseTraceparent(header: string | undefined): TraceIds | undefined {
  if (header === undefined) return undefined;

  const match = TRACEPARENT_PATTERN.exec(header.trim());
  if (match === null) return undefined;

  const [, traceId = '', spanId = ''] = match;
  if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return undefined;
  return { traceId, spanId };
}

/**
 * Reads one request header, by lowercase name. Under Node it reads the IncomingMessage's
 * parsed headers: `c.req.header()` would make @hono/node-server build a full fetch Request
 * for every request, a cost the hot path does not need. Repeated values are joined with ", ".
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const headers = nodeBindings(c)?.incoming?.headers;
  if (headers === undefined) return c.req.header(name);

  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
