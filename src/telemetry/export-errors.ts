import { diag, DiagLogLevel } from '@opentelemetry/api';
import { setGlobalErrorHandler } from '@opentelemetry/core';

import type { Logger } from './logger.ts';

/** Shortest gap between two logged lines of one source; the ones in between are counted. */
export const EXPORT_ERROR_LOG_INTERVAL_MS = 10_000;

type Report = (level: 'error' | 'warn', message: string) => void;

/** Creates a reporter that logs at once, then at most once per interval, counting the rest. */
function createRateLimitedReport(
  logger: Logger,
  source: string,
  now: () => number,
  intervalMs: number,
): Report {
  let lastLoggedAt = Number.NEGATIVE_INFINITY;
  let suppressed = 0;

  return (level, message) => {
    const time = now();
    if (time - lastLoggedAt < intervalMs) {
      suppressed += 1;
      return;
    }

    lastLoggedAt = time;
    logger[level](
      { source, error: message.slice(0, 1_000), suppressed },
      'telemetry export problem',
    );
    suppressed = 0;
  };
}

/**
 * Routes OpenTelemetry SDK errors (failed or timed-out exports) and SDK diagnostics to the
 * service log at a bounded rate: each source logs its first line at once, then at most one
 * every EXPORT_ERROR_LOG_INTERVAL_MS with the count suppressed since its last line. The two
 * sources are limited apart, so a start-up warning never delays the first export error.
 * Without this the SDK prints with console, which breaks the JSON log format.
 */
export function reportExportErrors(
  logger: Logger,
  now: () => number = Date.now,
  intervalMs: number = EXPORT_ERROR_LOG_INTERVAL_MS,
): void {
  const exportReport = createRateLimitedReport(logger, 'export', now, intervalMs);
  const diagnosticReport = createRateLimitedReport(logger, 'diagnostic', now, intervalMs);

  setGlobalErrorHandler((error) =>
    exportReport('error', error instanceof Error ? error.message : JSON.stringify(error)),
  );
  diag.setLogger(
    {
      error: (message, ...args) =>
        diagnosticReport('error', [message, ...args.map(String)].join(' ')),
      warn: (message, ...args) =>
        diagnosticReport('warn', [message, ...args.map(String)].join(' ')),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}
