// One pino JSON line per request on stdout, with the service's access log fields except
// client_ip and request_id (pino adds pid and hostname instead), so that the instrumented
// peers pay for logging about as the service does.
import { pino } from 'pino';
import type { BaseLogger, Logger } from 'pino';

/** The part of a pino logger used here, which Fastify's request logger also has. */
export type AccessLogger = Pick<BaseLogger, 'info' | 'warn' | 'error'>;

/** Fields of one access log line. */
export interface AccessLogFields {
  method: string;
  route: string;
  path: string;
  status: number;
  durationMs: number;
  userAgent: string | undefined;
}

/** Creates the peer's logger: ISO time and level names, as the service logs, written to stdout (fd 1). */
export function createAccessLogger(): Logger {
  return pino({
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** Writes one access log line at the level the service uses: 5xx error, 4xx warn, else info. */
export function logRequest(logger: AccessLogger, fields: AccessLogFields): void {
  const line = {
    method: fields.method,
    route: fields.route,
    path: fields.path.slice(0, 256),
    status: fields.status,
    duration_ms: fields.durationMs,
    user_agent: fields.userAgent,
  };
  if (fields.status >= 500) logger.error(line, 'request completed');
  else if (fields.status >= 400) logger.warn(line, 'request completed');
  else logger.info(line, 'request completed');
}
