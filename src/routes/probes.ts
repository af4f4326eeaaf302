import type { Context } from 'hono';

import type { AppEnv, Readiness } from '../app-types.ts';
import { errorResponse } from '../http/errors.ts';

/** GET /healthz: liveness, 200 whenever the event loop can run a handler. */
export function healthzHandler(c: Context<AppEnv>): Response {
  return c.text('ok\n');
}

/** Creates GET /readyz: 200 when ready, 503 while starting and during shutdown. */
export function createReadyzHandler(readiness: Readiness) {
  return (c: Context<AppEnv>): Response => {
    if (readiness.isReady()) return c.text('ready\n');

    const reason = readiness.isShuttingDown() ? 'shutting down' : 'starting';
    return errorResponse(c, 503, 'service_unavailable', `not ready: ${reason}`);
  };
}
