import type { Context } from 'hono';

import { nodeBindings } from './node-bindings.ts';

/** Adds one response header value; a second value for the same name is added, not replaced. */
export type HeaderAppender = (name: string, value: string) => void;

/**
 * Returns a function that adds response headers for this request.
 *
 * Under Node it sets them on the ServerResponse, which merges them with the headers of the
 * response the handler returns and sends repeated values as separate lines. This keeps Hono
 * from building a fetch Headers object for every request: the first one loads Node's fetch
 * implementation (about 10 ms at start-up), and each costs time on the hot path. In-process,
 * without a ServerResponse, it falls back to Hono's `c.header`.
 */
export function responseHeaderAppender(c: Context): HeaderAppender {
  const outgoing = nodeBindings(c)?.outgoing;
  if (outgoing === undefined) {
    return (name, value) => c.header(name, value, { append: true });
  }

  return (name, value) => {
    const existing = outgoing.getHeader(name);
    if (existing === undefined) {
      outgoing.setHeader(name, value);
    } else if (Array.isArray(existing)) {
      outgoing.setHeader(name, [...existing, value]);
    } else {
      outgoing.setHeader(name, [String(existing), value]);
    }
  };
}
