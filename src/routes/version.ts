import type { Context } from 'hono';

import type { AppEnv } from '../app-types.ts';

/** Creates GET /version: service version, Node version and start time as JSON. */
export function createVersionHandler(version: string, startTime: Date) {
  const body = Object.freeze({
    version,
    node: process.version,
    start_time: startTime.toISOString(),
  });
  return (c: Context<AppEnv>): Response => c.json(body);
}
