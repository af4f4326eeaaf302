import type { Context } from 'hono';

import type { AppEnv } from '../app-types.ts';
import {
  describeHeaders,
  echoHeaders,
  markReflected,
  requestHeaderFields,
} from '../http/header-echo.ts';

/** GET /: copies the request headers into the response headers and lists them in the body. */
export function rootHandler(c: Context<AppEnv>): Response {
  const fields = requestHeaderFields(c);
  echoHeaders(fields, c.res.headers);
  markReflected(c.res.headers);
  return c.text(describeHeaders(fields));
}
