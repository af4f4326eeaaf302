import type { Hono } from 'hono';

import { createApp, type AppEnv } from '../../src/app.ts';
import { parseConfig, type Env } from '../../src/config/config.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createResource, setupTelemetry, type Telemetry } from '../../src/telemetry/telemetry.ts';
import type { LogLine } from './process.ts';

export interface TestApp {
  readonly app: Hono<AppEnv>;
  readonly telemetry: Telemetry;
  /** Log lines written so far, parsed. */
  readonly logs: () => LogLine[];
  /** Readiness switches the test can flip. */
  readonly state: { ready: boolean; shuttingDown: boolean };
}

export interface TestAppOptions {
  readonly env?: Env;
  readonly random?: () => number;
  readonly now?: () => number;
  readonly startTime?: Date;
}

/** Builds a fresh app in-process with a capturing logger and its own meter provider. */
export function buildTestApp(options: TestAppOptions = {}): TestApp {
  const config = parseConfig({ DELAY_MAX_MS: '0', LOG_LEVEL: 'debug', ...options.env });
  const lines: LogLine[] = [];
  const logger = createLogger(config.logLevel, {
    write(text: string) {
      lines.push(JSON.parse(text) as LogLine);
    },
  });
  const telemetry = setupTelemetry(config, logger, {
    resource: createResource(config, 'test-instance'),
  });
  const state = { ready: true, shuttingDown: false };
  const app = createApp({
    config,
    logger,
    telemetry,
    readiness: { isReady: () => state.ready, isShuttingDown: () => state.shuttingDown },
    ...(options.random ? { random: options.random } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.startTime ? { startTime: options.startTime } : {}),
  });
  return { app, telemetry, logs: () => [...lines], state };
}

/** Node bindings as @hono/node-server passes them, for tests of peer-dependent behaviour. */
export function nodeEnv(remoteAddress: string, rawHeaders?: string[]): Record<string, unknown> {
  return { incoming: { socket: { remoteAddress }, ...(rawHeaders ? { rawHeaders } : {}) } };
}
