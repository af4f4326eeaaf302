import { Hono } from 'hono';

import { createApp } from './app.ts';
import { ConfigError, parseConfig, type Config } from './config/config.ts';
import { createNodeServer, listen } from './http/node-server.ts';
import { ReadinessState } from './lifecycle/readiness-state.ts';
import { createShutdown, SHUTDOWN_SIGNALS } from './lifecycle/shutdown.ts';
import { createMetricsHandler } from './routes/metrics.ts';
import {
  createLogger,
  createStdoutDestination,
  flushAndExit,
  type Logger,
} from './telemetry/logger.ts';
import type { OtlpLogBridge } from './telemetry/otlp.ts';
import { createResource, setupTelemetry } from './telemetry/telemetry.ts';
import { pino } from 'pino';

function loadConfig(): Config {
  try {
    return parseConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // The configured log level is unknown here, so the message goes out at fatal.
    // Written synchronously because the process exits on the next line.
    createLogger('fatal', pino.destination({ dest: 1, sync: true })).fatal(
      { variable: error.variable, error: error.message },
      'invalid configuration',
    );
    process.exit(1);
  }
}

/** Describes the configuration for the start-up log line, which contains no secrets. */
function describeConfig(config: Config): Record<string, unknown> {
  // NOTE: OTLP headers (OTEL_EXPORTER_OTLP_HEADERS) may hold tokens; they are read by the
  // exporters and never copied into Config, so they cannot reach this line.
  const described: Record<string, unknown> = { ...config };
  delete described.trustedProxyList;
  return described;
}

/** Creates the logger: standard output, plus the OTLP log export when it is configured. */
function createServiceLogger(config: Config, bridge: OtlpLogBridge | undefined): Logger {
  if (bridge === undefined) return createLogger(config.logLevel);

  const stdout = createStdoutDestination();
  return createLogger(
    config.logLevel,
    pino.multistream([
      { level: 'trace', stream: stdout },
      { level: 'trace', stream: bridge },
    ]),
  );
}

async function main(): Promise<void> {
  const config = loadConfig();
  const resource = config.telemetryEnabled ? createResource(config) : undefined;
  // The OTLP modules load only when an endpoint is configured; most runs never need them.
  const otlp =
    resource && (config.otlpMetricsEndpoint || config.otlpLogsEndpoint)
      ? await import('./telemetry/otlp.ts')
      : undefined;
  const logBridge = resource ? otlp?.createOtlpLogBridge(config, resource) : undefined;
  const otlpReader = otlp?.createOtlpMetricReader(config);
  const logger = createServiceLogger(config, logBridge);

  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception, exiting');
    flushAndExit(logger, 1, (code) => process.exit(code));
  });
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection');
  });

  const telemetry = setupTelemetry(config, logger, {
    ...(resource ? { resource } : {}),
    ...(logBridge ? { logBridge } : {}),
    ...(otlpReader ? { extraReaders: [otlpReader] } : {}),
  });
  const readiness = new ReadinessState();
  const app = createApp({ config, logger, telemetry, readiness });

  const appServer = createNodeServer(app.fetch, config, logger);
  const port = await listen(appServer.server, config.port, config.host);

  let metricsServer;
  let metricsPort: number | null = null;
  if (config.metricsPort !== undefined) {
    const metricsApp = new Hono();
    metricsApp.get('/metrics', createMetricsHandler(telemetry));
    metricsServer = createNodeServer(metricsApp.fetch, config, logger).server;
    metricsPort = await listen(metricsServer, config.metricsPort, config.host);
  }

  const shutdown = createShutdown({
    config,
    logger,
    telemetry,
    readiness,
    app: appServer,
    metricsServer,
    exit: (code) => process.exit(code),
  });
  for (const signal of SHUTDOWN_SIGNALS) {
    process.on(signal, () => void shutdown(signal));
  }

  readiness.markReady();
  logger.info(
    { port, metrics_port: metricsPort, node: process.version, config: describeConfig(config) },
    'server started',
  );
  logger.flush();

  telemetry.startRuntimeMetrics().catch((error: unknown) => {
    logger.error({ err: error }, 'runtime metrics failed to start');
  });
}

await main();
