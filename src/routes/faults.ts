import { STATUS_CODES } from 'node:http';

import type { Context } from 'hono';
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status';

import type { AppEnv } from '../app-types.ts';
import { errorResponse } from '../http/errors.ts';
import { waitUnlessAborted } from '../lifecycle/wait.ts';
import { CLIENT_CLOSED_REQUEST } from './hello.ts';

// Statuses whose responses must not carry a body (RFC 9110 sections 15.3.5, 15.3.6, 15.4.5).
const NO_BODY_STATUSES = new Set([204, 205, 304]);

/**
 * GET /status/:code: responds with the status given, for alert and dashboard practice.
 *
 * Codes 200 to 599 are accepted. An informational 1xx code cannot be a final response in
 * HTTP/1.1, so 100 to 199 get 400 with that reason, like anything that is not a code.
 */
export function statusHandler(c: Context<AppEnv>): Response {
  const text = c.req.param('code') ?? '';
  const code = /^\d{3}$/.test(text) ? Number(text) : Number.NaN;

  if (code >= 100 && code < 200) {
    return errorResponse(
      c,
      400,
      'bad_request',
      `status ${code} is informational and cannot be a final response; use 200 to 599`,
    );
  }
  if (!(code >= 200 && code <= 599)) {
    return errorResponse(
      c,
      400,
      'bad_request',
      `status must be a whole number from 200 to 599, received "${text.slice(0, 32)}"`,
    );
  }

  if (NO_BODY_STATUSES.has(code)) return c.body(null, code as StatusCode);
  return c.json(
    { status: code, reason: STATUS_CODES[code] ?? 'Unknown' },
    code as ContentfulStatusCode,
  );
}

/** Creates GET /delay/:ms: waits that long (0 to MAX_DELAY_MS), stopping if the client leaves. */
export function createDelayHandler(maxDelayMs: number) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const text = c.req.param('ms') ?? '';
    const ms = /^\d{1,10}$/.test(text) ? Number(text) : Number.NaN;

    if (!(ms >= 0 && ms <= maxDelayMs)) {
      return errorResponse(
        c,
        400,
        'bad_request',
        `delay must be a whole number of milliseconds from 0 to ${maxDelayMs}, received "${text.slice(0, 32)}"`,
      );
    }

    const completed = await waitUnlessAborted(ms, c.req.raw.signal);
    if (!completed) return new Response(null, { status: CLIENT_CLOSED_REQUEST });
    return c.json({ delay_ms: ms });
  };
}
