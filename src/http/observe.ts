import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';

import type { AppDeps, AppEnv } from '../app-types.ts';
import { truncateLogField } from '../telemetry/logger.ts';
import { UNMATCHED_ROUTE } from '../telemetry/metrics.ts';
import { resolveClientIp } from './client-ip.ts';
import { nodeBindings } from './node-bindings.ts';
import { parseTraceparent, requestHeader, resolveRequestId } from './request-context.ts';
import { responseHeaderAppender } from './response-headers.ts';

/** Paths that are neither counted in the request metrics nor logged above debug. */
const UNOBSERVED_PATHS = new Set(['/metrics', '/healthz', '/readyz']);

/**
 * Creates the middleware that wraps every request: request id, Version header, the
 * http.server metrics, one access-log line, and `Connection: close` during shutdown.
 */
export function createObserveMiddleware(deps: AppDeps): MiddlewareHandler<AppEnv> {
  const { logger, readiness, config } = deps;
  const { metrics } = deps.telemetry;
  const version = config.version;
  const now = deps.now ?? (() => performance.now());

  return async (c, next) => {
    const started = now();
    const method = c.req.method;
    const path = c.req.path;
    const observed = !UNOBSERVED_PATHS.has(path);
    const socket = nodeBindings(c)?.incoming?.socket;
    // Read now: a socket that the client has closed no longer reports its peer address.
    const peer = socket?.remoteAddress;
    // Under Node the scheme is the connection's. The URL's scheme may come from an
    // absolute-form request target ("GET https://host/ HTTP/1.1"), which is the client's claim.
    const secure =
      socket === undefined ? c.req.url.startsWith('https:') : socket.encrypted === true;
    const scheme = secure ? 'https' : 'http';
    const requestId = resolveRequestId(requestHeader(c, 'x-request-id'));
    c.set('requestId', requestId);
    // Set before the handler runs, so they join the response it builds. Setting them on
    // c.res afterwards would make @hono/node-server build a full fetch Response (slow path).
    const addHeader = responseHeaderAppender(c);
    addHeader('Version', version);
    addHeader('X-Request-Id', requestId);

    if (observed) metrics.requestStarted(method, scheme);
    try {
      await next();
    } finally {
      const durationMs = now() - started;
      const status = c.res.status;
      const matched = routePath(c, -1);
      const route = matched === '*' || matched === '/*' ? UNMATCHED_ROUTE : matched;

      if (readiness.isShuttingDown()) addHeader('Connection', 'close');

      if (observed) metrics.requestFinished(method, scheme, route, status, durationMs / 1000);

      // Probe and scrape requests arrive every few seconds and would drown the access log.
      let level: 'debug' | 'info' | 'warn' | 'error' = 'info';
      if (!observed) level = 'debug';
      else if (status >= 500) level = 'error';
      else if (status >= 400) level = 'warn';
      if (logger.isLevelEnabled(level)) {
        const trace = parseTraceparent(requestHeader(c, 'traceparent'));
        logger[level](
          {
            method,
            route,
            path: truncateLogField(path),
            status,
            duration_ms: Math.round(durationMs * 1000) / 1000,
            client_ip: resolveClientIp(
              peer,
              requestHeader(c, 'x-forwarded-for'),
              config.trustedProxyList,
            ),
            user_agent: truncateLogField(requestHeader(c, 'user-agent') ?? ''),
            request_id: requestId,
            ...(trace ? { trace_id: trace.traceId, span_id: trace.spanId } : {}),
          },
          'request completed',
        );
      }
    }
  };
}
