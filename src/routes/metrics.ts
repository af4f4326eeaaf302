import type { Context } from 'hono';

import type { AppEnv } from '../app-types.ts';
import { PROMETHEUS_CONTENT_TYPE, type Telemetry } from '../telemetry/telemetry.ts';

/** Creates GET /metrics: the Prometheus text exposition of every instrument. */
export function createMetricsHandler(telemetry: Telemetry) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const text = await telemetry.renderMetrics();
    return c.body(text, 200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE });
  };
}
