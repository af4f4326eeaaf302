import {
  createServer,
  STATUS_CODES,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Duplex } from 'node:stream';

import { getRequestListener, RequestError } from '@hono/node-server';

import type { Config } from '../config/config.ts';
import { truncateLogField, type Logger } from '../telemetry/logger.ts';
import { resolveClientIp } from './client-ip.ts';
import { ALLOWED_METHODS, checkRequest, declaresBody, type Rejection } from './request-guard.ts';

type FetchHandler = (
  request: Request,
  env: Record<string, unknown>,
) => Response | Promise<Response>;

/** A Node HTTP server around a fetch handler, with the count of requests in flight. */
export interface NodeServer {
  readonly server: Server;
  /** Requests received whose response has not closed yet. */
  inFlight(): number;
}

// Statuses for parser errors that Node reports through 'clientError'.
const CLIENT_ERROR_STATUS: Readonly<Record<string, number>> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
  HPE_HEADERS_TIMEOUT: 408,
};
const TIMEOUT_CODES = new Set(['ERR_HTTP_REQUEST_TIMEOUT', 'HPE_HEADERS_TIMEOUT']);

// Node checks headersTimeout and requestTimeout only every connectionsCheckingInterval
// (30 s by default), so a 2 s headers timeout would fire up to 30 s late. A quarter of the
// shorter timeout keeps the overshoot within 25%; the floor bounds the cost of the sweep,
// which visits every open connection.
const MIN_CHECKING_INTERVAL_MS = 100;
const MAX_CHECKING_INTERVAL_MS = 30_000;

function checkingIntervalMs(config: Config): number {
  const shorter = Math.min(config.headersTimeoutMs, config.requestTimeoutMs);
  return Math.min(
    MAX_CHECKING_INTERVAL_MS,
    Math.max(MIN_CHECKING_INTERVAL_MS, Math.floor(shorter / 4)),
  );
}

/** Formats a complete response without a body, for writing straight to a socket. */
function rawErrorResponse(status: number, extraHeaders: string, version: string): string {
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n` +
    `Connection: close\r\nContent-Length: 0\r\n${extraHeaders}Version: ${version}\r\n\r\n`
  );
}

function rejectionBody(rejection: Rejection): string {
  return JSON.stringify({ code: rejection.code, message: rejection.message });
}

/**
 * Creates (but does not start) a Node HTTP server that serves `fetchHandler`.
 *
 * The timeouts come from the config: keep-alive above the proxies' idle timeouts, headers and
 * whole-request timeouts bounded so slow clients cannot hold sockets forever. Requests that
 * never reach the app (parser errors, Host errors, `*` targets, CONNECT, unknown Expect
 * values) get their response here, each with the Version header and one `warn` log line.
 */
export function createNodeServer(
  fetchHandler: FetchHandler,
  config: Config,
  logger: Logger,
): NodeServer {
  const version = config.version;
  let inFlight = 0;
  // Responses not yet closed, per connection, so a parser error on a pipelined request
  // waits for the responses ahead of it instead of overtaking them.
  const openResponses = new WeakMap<Duplex, Set<ServerResponse>>();

  function logRejection(request: IncomingMessage, status: number, reason: string): void {
    const forwardedFor = request.headers['x-forwarded-for'];
    logger.warn(
      {
        method: truncateLogField(request.method ?? ''),
        // The query string may hold user data, and the access log leaves it out too.
        path: truncateLogField((request.url ?? '').split('?')[0] ?? ''),
        status,
        reason,
        client_ip: resolveClientIp(
          request.socket.remoteAddress,
          Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor,
          config.trustedProxyList,
        ),
        user_agent: truncateLogField(request.headers['user-agent'] ?? ''),
      },
      'request rejected',
    );
  }

  function writeRejection(
    request: IncomingMessage,
    response: ServerResponse,
    rejection: Rejection,
  ): void {
    logRejection(request, rejection.status, rejection.code);
    const body = rejection.message === '' ? '' : rejectionBody(rejection);
    response.writeHead(rejection.status, {
      ...rejection.headers,
      ...(body === ''
        ? {}
        : {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
            Connection: 'close',
          }),
      Version: version,
    });
    response.end(body);
  }

  let adapting: IncomingMessage | undefined;
  const listener = getRequestListener(fetchHandler, {
    // HTTP/1.0 requests may omit Host, and the URL passed to the app then names this host.
    hostname: 'localhost',
    // A request target or Host value that the adapter cannot turn into a URL.
    errorHandler: (error) => {
      const invalid = error instanceof RequestError;
      const status = invalid ? 400 : 500;
      const reason = invalid ? error.message : 'internal_error';
      if (!invalid) logger.error({ err: error }, 'request adapter failed');
      if (adapting !== undefined) logRejection(adapting, status, reason);
      else logger.warn({ status, reason }, 'request rejected');
      return Response.json(
        {
          code: invalid ? 'bad_request' : 'internal_error',
          message: invalid ? `invalid request: ${error.message}` : 'internal error',
        },
        { status, headers: { Connection: 'close', Version: version } },
      );
    },
  });

  function serve(request: IncomingMessage, response: ServerResponse): void {
    const rejection = checkRequest(request);
    if (rejection !== undefined) {
      writeRejection(request, response, rejection);
      return;
    }

    // No route reads a request body. Closing after the response stops a body that trickles
    // in slowly, or never ends, from holding the connection past its response.
    if (declaresBody(request)) response.setHeader('Connection', 'close');

    // The adapter calls errorHandler synchronously, before its first await, when it cannot
    // turn the request into a fetch Request, so `adapting` names the request at fault.
    adapting = request;
    void listener(request, response);
    adapting = undefined;
  }

  const server = createServer(
    {
      keepAliveTimeout: config.keepAliveTimeoutMs,
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      connectionsCheckingInterval: checkingIntervalMs(config),
      // checkRequest rejects a missing Host itself, with the Version header and a log line.
      requireHostHeader: false,
    },
    (request, response) => {
      inFlight += 1;
      const socket = request.socket;
      let open = openResponses.get(socket);
      if (open === undefined) {
        open = new Set();
        openResponses.set(socket, open);
      }
      open.add(response);

      response.once('close', () => {
        inFlight -= 1;
        open.delete(response);
      });
      serve(request, response);
    },
  );

  // Node's default sends a bare 400 for a malformed request and logs nothing. This handler
  // sends the matching status and our Version header, and logs the parser's code.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const code = error.code ?? 'UNKNOWN';
    if (code === 'ECONNRESET' || !socket.writable) {
      logger.debug({ code }, 'client connection failed');
      socket.destroy();
      return;
    }

    const status = CLIENT_ERROR_STATUS[code] ?? 400;
    const timedOut = TIMEOUT_CODES.has(code);
    logger.warn({ code, status }, timedOut ? 'request timed out' : 'malformed request rejected');

    const reply = (): void => {
      if (socket.writable) socket.end(rawErrorResponse(status, '', version));
      else socket.destroy();
    };
    const ahead = [...(openResponses.get(socket) ?? [])];
    if (ahead.length === 0) {
      reply();
      return;
    }
    // Pipelined requests before the malformed one are still being served. Their
    // responses go out first, in order, and the error response closes the connection.
    let remaining = ahead.length;
    for (const response of ahead) {
      response.once('close', () => {
        remaining -= 1;
        if (remaining === 0) reply();
      });
    }
  });

  // CONNECT requests a tunnel, which this service does not offer. Without a listener Node
  // would drop the connection without a response.
  server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    logRejection(request, 405, 'method_not_allowed');
    socket.end(rawErrorResponse(405, `Allow: ${ALLOWED_METHODS}\r\n`, version));
  });

  // Any Expect value other than 100-continue (RFC 9110 section 10.1.1).
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    writeRejection(request, response, {
      status: 417,
      code: 'expectation_failed',
      message: 'only "Expect: 100-continue" is supported',
    });
  });

  return { server, inFlight: () => inFlight };
}

/** Starts listening and resolves with the bound port (useful when the port asked is 0). */
export function listen(server: Server, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen({ port, host }, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}
