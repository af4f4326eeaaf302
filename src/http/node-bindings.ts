import type { OutgoingHttpHeader } from 'node:http';

import type { Context } from 'hono';

/**
 * The parts of @hono/node-server's bindings (the IncomingMessage and ServerResponse behind a
 * request) that the service reads. Every field is optional because in-process tests call
 * `app.request()` with none of them, or with only a socket address.
 */
export interface NodeBindings {
  readonly incoming?: {
    readonly socket?: { readonly remoteAddress?: string; readonly encrypted?: boolean };
    readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
    readonly rawHeaders?: readonly string[];
  };
  readonly outgoing?: {
    getHeader(name: string): OutgoingHttpHeader | undefined;
    setHeader(name: string, value: OutgoingHttpHeader): unknown;
  };
}

/** Returns the Node bindings of a request, or undefined when the app runs in-process. */
export function nodeBindings(c: Context): NodeBindings | undefined {
  return c.env as NodeBindings | undefined;
}
