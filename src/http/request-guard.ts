import type { IncomingMessage } from 'node:http';

/** The response the server sends itself, before the app, to a request the app must not serve. */
export interface Rejection {
  readonly status: number;
  /** Stable machine-readable code, also the `reason` field of the log line. */
  readonly code: string;
  /** Reason for people; empty for a status without a body. */
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Methods every route serves; the app's 405 responses list the same. */
export const ALLOWED_METHODS = 'GET, HEAD';

function countHostFields(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === 'host') count += 1;
  }
  return count;
}

/**
 * Checks what the app cannot see or express: the HTTP version, the Host header count and the
 * `*` request target. Returns the rejection for a request the app must not serve, otherwise
 * undefined.
 *
 * RFC 9112 section 3.2 requires a 400 for an HTTP/1.1 request without Host and for any
 * request with more than one Host line (Node keeps only the first, so a proxy that routed on
 * the other one would disagree with us). HTTP/1.0 does not require Host.
 */
export function checkRequest(request: IncomingMessage): Rejection | undefined {
  // Node's parser also accepts HTTP/0.9 and HTTP/2.0 request lines in HTTP/1 framing.
  if (request.httpVersionMajor !== 1) {
    return {
      status: 505,
      code: 'version_not_supported',
      message: `HTTP/${request.httpVersion} is not supported; use HTTP/1.0 or HTTP/1.1`,
    };
  }

  const hosts = countHostFields(request.rawHeaders);
  if (hosts > 1) {
    return {
      status: 400,
      code: 'duplicate_host',
      message: `request has ${hosts} Host headers; send exactly one`,
    };
  }
  if (hosts === 0 && request.httpVersion !== '1.0') {
    return {
      status: 400,
      code: 'missing_host',
      message: `HTTP/${request.httpVersion} requests must carry a Host header`,
    };
  }

  // The asterisk form queries the server as a whole (RFC 9112 section 3.2.4) and is
  // defined only for OPTIONS.
  if (request.url === '*') {
    if (request.method === 'OPTIONS') {
      return { status: 204, code: 'options', message: '', headers: { Allow: ALLOWED_METHODS } };
    }
    return {
      status: 400,
      code: 'invalid_target',
      message: 'request target "*" is allowed only with OPTIONS',
    };
  }
  return undefined;
}

/** Returns whether the request declares a body; no route of this service reads one. */
export function declaresBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return (
    request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
  );
}
