import type { Context } from 'hono';

import type { AppEnv } from '../app-types.ts';
import {
  describeHeaders,
  echoHeaders,
  markReflected,
  reflectedText,
  requestHeaderFields,
} from '../http/header-echo.ts';
import { responseHeaderAppender } from '../http/response-headers.ts';

/** GET /: copies the request headers into the response headers and lists them in the body. */
export function rootHandler(c: Context<AppEnv>): Response {
  const fields = requestHeaderFields(c);
  const append = responseHeaderAppender(c);
  echoHeaders(fields, append);
  markReflected(append);
  return reflectedText(c, describeHeaders(fields));
}
