import { Hono, type Handler } from 'hono';

import type { AppDeps, AppEnv } from './app-types.ts';
import { errorResponse } from './http/errors.ts';
import { createObserveMiddleware } from './http/observe.ts';
import { ALLOWED_METHODS } from './http/request-guard.ts';
import { createHelloHandler } from './routes/hello.ts';
import { createDelayHandler, statusHandler } from './routes/faults.ts';
import { createMetricsHandler } from './routes/metrics.ts';
import { createReadyzHandler, healthzHandler } from './routes/probes.ts';
import { rootHandler } from './routes/root.ts';
import { createVersionHandler } from './routes/version.ts';

export type { AppDeps, AppEnv, Readiness } from './app-types.ts';

/**
 * Builds the Hono app: every route as a function of the request context. It owns no socket,
 * timer or signal, so tests call `app.request()` and the server wraps `app.fetch`.
 */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const startTime = deps.startTime ?? new Date();

  const routes: ReadonlyArray<readonly [string, Handler<AppEnv>]> = [
    ['/', rootHandler],
    ['/hello', createHelloHandler(deps)],
    ['/healthz', healthzHandler],
    ['/readyz', createReadyzHandler(deps.readiness)],
    ['/metrics', createMetricsHandler(deps.telemetry)],
    ['/version', createVersionHandler(deps.config.version, startTime)],
    ['/status/:code', statusHandler],
    ['/delay/:ms', createDelayHandler(deps.config.maxDelayMs)],
  ];

  app.use(createObserveMiddleware(deps));

  // Hono runs each GET handler for HEAD too and drops the body.
  for (const [path, handler] of routes) {
    app.get(path, handler);
    // Any other method on a known path: 204 with Allow for OPTIONS, else 405 with Allow.
    app.all(path, (c) => {
      c.header('Allow', ALLOWED_METHODS);
      if (c.req.method === 'OPTIONS') return c.body(null, 204);
      return errorResponse(
        c,
        405,
        'method_not_allowed',
        `method ${c.req.method.slice(0, 32)} is not allowed on ${path}; use ${ALLOWED_METHODS}`,
      );
    });
  }

  app.notFound((c) => errorResponse(c, 404, 'not_found', 'no route matches this path'));

  app.onError((error, c) => {
    deps.logger.error({ err: error, request_id: c.get('requestId') }, 'request failed');
    return errorResponse(c, 500, 'internal_error', 'internal error; see the service log');
  });

  return app;
}
