// The servers that the bench compares: five peers and the service in two configurations.
import { resolve } from 'node:path';

/** Directory that the peer bundles are written to (ignored by git with node_modules/). */
export const PEER_BUILD_DIR = resolve(import.meta.dirname, '../node_modules/.cache/bench-peers');

/** Production build of the service, made by `npm run build`. */
export const SERVICE_ENTRY = resolve(import.meta.dirname, '../dist/server.js');

/** One server to measure. */
export interface Target {
  /** Short name used in tables and log file names. */
  name: string;
  /** JavaScript file that Node runs. */
  entry: string;
  /** Variables added to the environment of the process. */
  env: Record<string, string>;
  /** Path polled for the first 200 when measuring cold start. */
  readyPath: string;
  /** Whether /metrics has a request histogram worth scraping. */
  hasMetrics: boolean;
  /** Description of the target's per-request logging, for RESULTS.md. */
  logging: string;
}

/** Source file of each peer under bench/peers/, keyed by target name. */
export const PEER_SOURCES: Record<string, string> = {
  'node-http': 'node-http.ts',
  'hono-bare': 'hono-bare.ts',
  'hono-prometheus': 'hono-prometheus.ts',
  'fastify-metrics': 'fastify-metrics.ts',
  'express-prom-bundle': 'express-prom-bundle.ts',
};

/** Name of the target that ratios are computed against. */
export const REFERENCE_TARGET = 'hono-bare';

/** Name of the target whose numbers are checked against the targets. */
export const SERVICE_TARGET = 'service';

function peer(name: string, hasMetrics: boolean, logging: string): Target {
  return {
    name,
    entry: resolve(PEER_BUILD_DIR, `${name}.js`),
    env: {},
    readyPath: '/healthz',
    hasMetrics,
    logging,
  };
}

// The service keeps its default LOG_LEVEL (info), so it writes one access log line per
// request. SHUTDOWN_DELAY_MS=0 only makes the bench stop it faster.
const serviceEnv = { DELAY_MIN_MS: '0', DELAY_MAX_MS: '0', SHUTDOWN_DELAY_MS: '0' };
const serviceLogging = 'one pino JSON access log line per request (LOG_LEVEL default info)';
const peerLogging = 'one pino JSON access log line per request, same fields and levels';

/** All targets in the order the rounds visit them. */
export const TARGETS: readonly Target[] = [
  peer('node-http', false, 'none'),
  peer('hono-bare', false, 'none'),
  peer('hono-prometheus', true, peerLogging),
  peer('fastify-metrics', true, `${peerLogging} (through Fastify's own pino logger)`),
  peer('express-prom-bundle', true, peerLogging),
  {
    name: SERVICE_TARGET,
    entry: SERVICE_ENTRY,
    env: serviceEnv,
    readyPath: '/readyz',
    hasMetrics: true,
    logging: serviceLogging,
  },
  {
    name: 'service-otel-off',
    entry: SERVICE_ENTRY,
    env: { ...serviceEnv, OTEL_SDK_DISABLED: 'true' },
    readyPath: '/readyz',
    hasMetrics: false,
    logging: serviceLogging,
  },
];
