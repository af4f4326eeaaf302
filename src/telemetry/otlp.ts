import { SeverityNumber, type AnyValue } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import type { Resource } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';

import type { Config } from '../config/config.ts';

const SEVERITY: Readonly<Record<string, SeverityNumber>> = {
  trace: SeverityNumber.TRACE,
  debug: SeverityNumber.DEBUG,
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
  fatal: SeverityNumber.FATAL,
};

// Upper bound on buffered log records while the collector is slow or down. Newer records are
// dropped past it, so an outage costs log lines, never unbounded memory. Same value as the
// OpenTelemetry specification's default for the batch log record processor.
const MAX_QUEUED_LOG_RECORDS = 2_048;

/**
 * Creates the periodic reader that pushes metrics over OTLP/HTTP, or undefined when no
 * endpoint is configured. Metrics are cumulative, as Prometheus expects.
 */
export function createOtlpMetricReader(config: Config): PeriodicExportingMetricReader | undefined {
  if (config.otlpMetricsEndpoint === undefined) return undefined;

  return new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ url: config.otlpMetricsEndpoint }),
    exportIntervalMillis: config.metricExportIntervalMs,
    exportTimeoutMillis: config.metricExportTimeoutMs,
  });
}

/** A pino destination that also ships each log line as an OpenTelemetry log record. */
export interface OtlpLogBridge {
  /** Receives one serialized JSON log line from pino. */
  write(line: string): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Creates the bridge from the JSON log lines to OTLP/HTTP log export, or undefined when no
 * endpoint is configured. The line's `msg` becomes the body, `level` the severity, `time` the
 * timestamp, and every other field an attribute under the same key.
 */
export function createOtlpLogBridge(config: Config, resource: Resource): OtlpLogBridge | undefined {
  if (config.otlpLogsEndpoint === undefined) return undefined;

  const provider = new LoggerProvider({
    resource,
    processors: [
      new BatchLogRecordProcessor({
        exporter: new OTLPLogExporter({ url: config.otlpLogsEndpoint }),
        maxQueueSize: MAX_QUEUED_LOG_RECORDS,
      }),
    ],
  });
  const otelLogger = provider.getLogger('httpserver', config.version);
  let shutdownPromise: Promise<void> | undefined;

  return {
    write(line) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }

      const { time, level, msg, ...fields } = record;
      const attributes: Record<string, AnyValue> = {};
      for (const [key, value] of Object.entries(fields)) {
        attributes[key] =
          value === null || typeof value === 'object' ? JSON.stringify(value) : value;
      }
      const timestamp = typeof time === 'string' ? Date.parse(time) : Date.now();

      otelLogger.emit({
        timestamp: Number.isNaN(timestamp) ? Date.now() : timestamp,
        severityText: typeof level === 'string' ? level : undefined,
        severityNumber: typeof level === 'string' ? SEVERITY[level] : undefined,
        body: typeof msg === 'string' ? msg : '',
        attributes,
      });
    },

    forceFlush: () => provider.forceFlush(),

    shutdown() {
      shutdownPromise ??= provider.shutdown();
      return shutdownPromise;
    },
  };
}
