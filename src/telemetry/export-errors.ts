import { diag, DiagLogLevel } from '@opentelemetry/api';
import { setGlobalErrorHandler } from '@opentelemetry/core';

import type { Logger } from './logger.ts';

/** Shortest gap between two logged export errors; the ones in between are counted. */
export const EXPORT_ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * Routes OpenTelemetry SDK errors and warnings (failed or timed-out exports, among others) to
 * the service log at a bounded rate: the first at once, then at most one every
 * EXPORT_ERROR_LOG_INTERVAL_MS, with the count of those suppressed since the last line.
 * Without this the SDK prints them with console, which breaks the JSON log format.
 */
export function reportExportErrors(
  logger: Logger,
  now: () => number = Date.now,
  intervalMs: number = EXPORT_ERROR_LOG_INTERVAL_MS,
): void {
  let lastLoggedAt = Number.NEGATIVE_INFINITY;
  let suppressed = 0;

  const report = (level: 'error' | 'warn', message: string) => {
    const time = now();
    if (time - lastLoggedAt < intervalMs) {
      suppressed += 1;
      return;
    }
    lastLoggedAt = time;
    logger[level]({ error: message.slice(0, 1_000), suppressed }, 'telemetry export problem');
    suppressed = 0;
  };

  setGlobalErrorHandler((error) =>
    report('error', error instanceof Error ? error.message : JSON.stringify(error)),
  );
  diag.setLogger(
    {
      error: (message, ...args) => report('error', [message, ...args.map(String)].join(' ')),
      warn: (message, ...args) => report('warn', [message, ...args.map(String)].join(' ')),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}
