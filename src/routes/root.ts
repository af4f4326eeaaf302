import type { Context } from 'hono';

import type { AppEnv } from '../app-types.ts';
import {
  describeHeaders,
  echoHeaders,
  markReflected,
  reflectedText,
  requestHeaderFields,
} from '../http/header-echo.ts';

/** GET /: copies the request headers into the response headers and lists them in the body. */
export function rootHandler(c: Context<AppEnv>): Response {
  const fields = requestHeaderFields(c);
  echoHeaders(fields, (name, value) => c.header(name, value, { append: true }));
  markReflected((name, value) => c.header(name, value));
  return reflectedText(c, describeHeaders(fields));
}
