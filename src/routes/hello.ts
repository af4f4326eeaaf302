import type { Context } from 'hono';

import type { AppDeps, AppEnv } from '../app-types.ts';
import { errorResponse } from '../http/errors.ts';
import {
  describeHeaders,
  echoHeaders,
  markReflected,
  reflectedText,
  requestHeaderFields,
} from '../http/header-echo.ts';
import { responseHeaderAppender } from '../http/response-headers.ts';
import { waitUnlessAborted } from '../lifecycle/wait.ts';

/** Longest `user` value /hello accepts, in characters. */
export const MAX_USER_LENGTH = 256;

/** Status logged and counted when the client disconnects before the response (nginx's code). */
export const CLIENT_CLOSED_REQUEST = 499;

// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * Creates the /hello handler: waits a uniform random delay in [DELAY_MIN_MS, DELAY_MAX_MS],
 * then greets the `user` and lists the request headers. The time taken, delay included, goes
 * into the course histogram.
 */
export function createHelloHandler(deps: AppDeps) {
  const { delayMinMs, delayMaxMs } = deps.config;
  const random = deps.random ?? Math.random;
  const { metrics } = deps.telemetry;
  const now = deps.now ?? (() => performance.now());

  return async (c: Context<AppEnv>): Promise<Response> => {
    const started = now();
    const users = c.req.queries('user') ?? [];

    if (users.length > 1) {
      return errorResponse(
        c,
        400,
        'bad_request',
        'query parameter "user" must appear at most once',
      );
    }
    const user = users[0] ?? '';
    if (user.length > MAX_USER_LENGTH) {
      return errorResponse(
        c,
        400,
        'bad_request',
        `query parameter "user" must be at most ${MAX_USER_LENGTH} characters, received ${user.length}`,
      );
    }
    if (CONTROL_CHARACTERS.test(user)) {
      return errorResponse(
        c,
        400,
        'bad_request',
        'query parameter "user" must not contain control characters',
      );
    }

    const delayMs = delayMinMs + Math.floor(random() * (delayMaxMs - delayMinMs + 1));
    deps.logger.debug({ request_id: c.get('requestId'), delay_ms: delayMs }, 'hello delay chosen');

    const completed = await waitUnlessAborted(delayMs, c.req.raw.signal);
    if (!completed) return new Response(null, { status: CLIENT_CLOSED_REQUEST });

    const fields = requestHeaderFields(c);
    const append = responseHeaderAppender(c);
    echoHeaders(fields, append);
    markReflected(append);
    const body = `hello [${user === '' ? 'stranger' : user}]\n\n${describeHeaders(fields)}`;
    metrics.helloObserved((now() - started) / 1000);
    return reflectedText(c, body);
  };
}
