import { pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';

import type { LogLevel } from '../config/config.ts';

export type { Logger } from 'pino';

/**
 * Creates the service's only logger: one JSON object a line with `time` (ISO 8601), `level`
 * as a word, and `msg` as a short constant phrase; everything variable goes in fields.
 *
 * @param destination where lines go; standard output when omitted.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      messageKey: 'msg',
      timestamp: stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
      },
      // Belt and braces: handlers never log these, but a caught error might carry them.
      redact: {
        paths: ['headers.authorization', 'headers.cookie', 'headers["proxy-authorization"]'],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false, minLength: 0 }),
  );
}
