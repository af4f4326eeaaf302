import { createServer, STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

import { getRequestListener } from '@hono/node-server';

import type { Config } from '../config/config.ts';
import type { Logger } from '../telemetry/logger.ts';

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

/**
 * Creates (but does not start) a Node HTTP server that serves `fetchHandler`.
 *
 * The timeouts come from the config: keep-alive above the proxies' idle timeouts, headers and
 * whole-request timeouts bounded so slow clients cannot hold sockets forever.
 */
export function createNodeServer(
  fetchHandler: FetchHandler,
  config: Config,
  logger: Logger,
  onResponseClosed?: () => void,
): NodeServer {
  const listener = getRequestListener(fetchHandler);
  let inFlight = 0;

  const server = createServer(
    {
      keepAliveTimeout: config.keepAliveTimeoutMs,
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
    },
    (request, response) => {
      inFlight += 1;
      response.once('close', () => {
        inFlight -= 1;
        onResponseClosed?.();
      });
      void listener(request, response);
    },
  );

  // Node's default answers a malformed request with a bare 400 and logs nothing. This
  // answers with the matching status and our Version header, and logs the parser's code.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const code = error.code ?? 'UNKNOWN';
    if (code === 'ECONNRESET' || !socket.writable) {
      logger.debug({ code }, 'client connection failed');
      socket.destroy();
      return;
    }

    const status = CLIENT_ERROR_STATUS[code] ?? 400;
    logger.warn({ code, status }, 'malformed request rejected');
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Connection: close\r\nContent-Length: 0\r\n' +
        `Version: ${config.version}\r\n\r\n`,
    );
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
