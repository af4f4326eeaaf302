import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Stable machine-readable codes of the JSON error bodies; the messages are for people. */
export type ErrorCode =
  'bad_request' | 'not_found' | 'method_not_allowed' | 'internal_error' | 'service_unavailable';

/** Sends `{"code": ..., "message": ...}` with the given status. */
export function errorResponse(
  c: Context,
  status: ContentfulStatusCode,
  code: ErrorCode,
  message: string,
): Response {
  return c.json({ code, message }, status);
}
