import { BlockList, isIP } from 'node:net';

import packageJson from '../../package.json' with { type: 'json' };

/** Log levels that pino accepts, from the most to the least severe. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Service settings, parsed once at start-up from the environment. Durations are milliseconds. */
export interface Config {
  readonly port: number;
  /** Interface to bind; undefined lets Node listen on every interface (IPv6 and IPv4). */
  readonly host: string | undefined;
  /** Second listener that serves only /metrics; undefined when METRICS_PORT is unset. */
  readonly metricsPort: number | undefined;
  readonly delayMinMs: number;
  readonly delayMaxMs: number;
  /** Largest wait that /delay/:ms accepts. */
  readonly maxDelayMs: number;
  readonly logLevel: LogLevel;
  /** Peers whose X-Forwarded-For is believed, as written in TRUSTED_PROXIES. */
  readonly trustedProxies: readonly string[];
  readonly trustedProxyList: BlockList;
  readonly shutdownDelayMs: number;
  readonly shutdownTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly version: string;
  readonly serviceName: string;
  readonly telemetryEnabled: boolean;
  /** OTLP/HTTP endpoint for pushed metrics; undefined keeps the push off. */
  readonly otlpMetricsEndpoint: string | undefined;
  /** OTLP/HTTP endpoint for pushed logs; undefined keeps the push off. */
  readonly otlpLogsEndpoint: string | undefined;
  readonly metricExportIntervalMs: number;
  readonly metricExportTimeoutMs: number;
  /** Extra resource attributes from OTEL_RESOURCE_ATTRIBUTES, such as k8s.pod.uid. */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  /** Knative's revision identity, present only when Knative runs the container. */
  readonly knative: Readonly<{ service?: string; revision?: string; configuration?: string }>;
}

/** Thrown for an environment variable that breaks a rule; the message names variable, rule and value. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly variable: string;

  constructor(variable: string, rule: string, received: string | undefined) {
    super(`${variable} ${rule}, received ${JSON.stringify(received)}`);
    this.variable = variable;
  }
}

/** Environment variables that parseConfig reads itself. */
export const PARSED_ENV_VARS = [
  'PORT',
  'HOST',
  'METRICS_PORT',
  'DELAY_MIN_MS',
  'DELAY_MAX_MS',
  'MAX_DELAY_MS',
  'LOG_LEVEL',
  'TRUSTED_PROXIES',
  'SHUTDOWN_DELAY_MS',
  'SHUTDOWN_TIMEOUT_MS',
  'KEEP_ALIVE_TIMEOUT_MS',
  'HEADERS_TIMEOUT_MS',
  'REQUEST_TIMEOUT_MS',
  'VERSION',
  'OTEL_SERVICE_NAME',
  'OTEL_SDK_DISABLED',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
  'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_METRIC_EXPORT_INTERVAL',
  'OTEL_METRIC_EXPORT_TIMEOUT',
  'OTEL_RESOURCE_ATTRIBUTES',
  'K_SERVICE',
  'K_REVISION',
  'K_CONFIGURATION',
] as const;

/**
 * OpenTelemetry variables that the OTLP exporters read themselves, as the OpenTelemetry
 * environment specification defines them. Headers may carry
 * credentials, so nothing here is ever logged.
 */
export const SDK_ENV_VARS = [
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_METRICS_HEADERS',
  'OTEL_EXPORTER_OTLP_LOGS_HEADERS',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
  'OTEL_EXPORTER_OTLP_METRICS_TIMEOUT',
  'OTEL_EXPORTER_OTLP_LOGS_TIMEOUT',
  'OTEL_EXPORTER_OTLP_COMPRESSION',
  'OTEL_EXPORTER_OTLP_METRICS_COMPRESSION',
  'OTEL_EXPORTER_OTLP_LOGS_COMPRESSION',
] as const;

/** Every environment variable the service honours; manifests may set only these. */
export const KNOWN_ENV_VARS: readonly string[] = Object.freeze([
  ...PARSED_ENV_VARS,
  ...SDK_ENV_VARS,
]);

export type Env = Readonly<Record<string, string | undefined>>;

/** Defaults for every setting; the README's configuration table repeats them. */
export const DEFAULTS = Object.freeze({
  port: 8080,
  delayMinMs: 0,
  delayMaxMs: 2_000,
  maxDelayMs: 10_000,
  logLevel: 'info' satisfies LogLevel,
  // Knative's queue-proxy and a local run both connect from loopback.
  trustedProxies: '127.0.0.0/8,::1/128',
  // Kubernetes removes a terminating pod from Service endpoints asynchronously; 5 s of
  // serving with readiness already failing lets kube-proxy and ingress controllers catch up.
  shutdownDelayMs: 5_000,
  // Covers the longest /delay/:ms (10 s) with margin. With the delay this needs a pod
  // terminationGracePeriodSeconds above 20 s; the Kubernetes default is 30 s.
  shutdownTimeoutMs: 15_000,
  // Above the 60 s default idle timeout of common load balancers such as AWS ALB. The proxy,
  // not Node, then closes idle connections, so it never reuses one that Node has just closed
  // (the cause of sporadic 502s). GCP load balancers keep 600 s and need a higher value.
  keepAliveTimeoutMs: 65_000,
  // Node requires headersTimeout to be at most requestTimeout. It stays above
  // keepAliveTimeout, as the usual guidance for Node behind a load balancer recommends.
  headersTimeoutMs: 66_000,
  // Bounds the time a client may take to send a whole request (not the response delay), so
  // slow uploads cannot hold a connection forever.
  requestTimeoutMs: 120_000,
  serviceName: 'httpserver',
  // The OpenTelemetry specification's defaults for the periodic metric reader.
  metricExportIntervalMs: 60_000,
  metricExportTimeoutMs: 30_000,
});

const MAX_TIMER_MS = 2_147_483_647; // setTimeout's largest delay

function readInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;

  if (!/^\d+$/.test(raw.trim())) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}`, raw);
  }
  const value = Number(raw.trim());
  if (value < min || value > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}`, raw);
  }
  return value;
}

function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;

  const normalized = raw.trim().toLowerCase();
  if (normalized === 'true') return true;
  if (normalized === 'false') return false;
  throw new ConfigError(name, 'must be "true" or "false"', raw);
}

function readLogLevel(env: Env): LogLevel {
  const raw = env.LOG_LEVEL;
  if (raw === undefined || raw.trim() === '') return DEFAULTS.logLevel;

  const level = raw.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`, raw);
  }
  return level as LogLevel;
}

/** Parses a comma-separated CIDR list ("10.0.0.0/8, ::1/128"); a bare address means one host. */
export function parseCidrList(name: string, raw: string): { entries: string[]; list: BlockList } {
  const list = new BlockList();
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');

  for (const entry of entries) {
    const [address = '', prefixText, extra] = entry.split('/');
    const family = isIP(address);
    const maxPrefix = family === 6 ? 128 : 32;
    const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
    const validPrefix =
      prefixText === undefined || (/^\d{1,3}$/.test(prefixText) && prefix <= maxPrefix);

    if (family === 0 || extra !== undefined || !validPrefix) {
      throw new ConfigError(
        name,
        'must be a comma-separated list of IP addresses or CIDR ranges such as 10.0.0.0/8',
        raw,
      );
    }
    list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return { entries, list };
}

function readUrl(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;

  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, 'must be an absolute http:// or https:// URL', env[name]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, 'must be an absolute http:// or https:// URL', env[name]);
  }
  return url.href;
}

/**
 * Parses OTEL_RESOURCE_ATTRIBUTES: `key=value` pairs separated by commas, values
 * percent-encoded, as the OpenTelemetry resource SDK specification defines.
 */
function readResourceAttributes(env: Env): Record<string, string> {
  const raw = env.OTEL_RESOURCE_ATTRIBUTES?.trim();
  const attributes: Record<string, string> = {};
  if (!raw) return attributes;

  for (const pair of raw.split(',')) {
    const separator = pair.indexOf('=');
    const key = pair.slice(0, separator).trim();
    let value: string;
    try {
      value = decodeURIComponent(pair.slice(separator + 1).trim());
    } catch {
      value = '';
    }
    if (separator <= 0 || key === '' || value === '') {
      throw new ConfigError(
        'OTEL_RESOURCE_ATTRIBUTES',
        'must be comma-separated key=value pairs with percent-encoded values',
        raw,
      );
    }
    attributes[key] = value;
  }
  return attributes;
}

/**
 * Resolves the OTLP/HTTP endpoint of one signal as the OpenTelemetry specification does: the
 * signal-specific variable is used as it is, and the general one gets `/v1/<signal>` appended.
 */
function readOtlpEndpoint(
  env: Env,
  specificName: string,
  signal: 'metrics' | 'logs',
): string | undefined {
  const specific = readUrl(env, specificName);
  if (specific !== undefined) return specific;

  const base = readUrl(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (base === undefined) return undefined;
  return `${base.replace(/\/+$/, '')}/v1/${signal}`;
}

/**
 * Parses and validates the environment into a frozen Config.
 *
 * @throws ConfigError for the first variable that breaks a rule.
 */
export function parseConfig(env: Env): Config {
  const port = readInteger(env, 'PORT', DEFAULTS.port, 0, 65_535);
  const metricsPort =
    env.METRICS_PORT === undefined || env.METRICS_PORT.trim() === ''
      ? undefined
      : readInteger(env, 'METRICS_PORT', 0, 0, 65_535);
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === port) {
    throw new ConfigError('METRICS_PORT', `must differ from PORT (${port})`, env.METRICS_PORT);
  }

  const host = env.HOST?.trim() || undefined;
  if (host !== undefined && isIP(host) === 0 && !/^[A-Za-z0-9.-]+$/.test(host)) {
    throw new ConfigError('HOST', 'must be an IP address or a host name', env.HOST);
  }

  const maxDelayMs = readInteger(env, 'MAX_DELAY_MS', DEFAULTS.maxDelayMs, 0, MAX_TIMER_MS);
  const delayMinMs = readInteger(env, 'DELAY_MIN_MS', DEFAULTS.delayMinMs, 0, MAX_TIMER_MS);
  const delayMaxMs = readInteger(env, 'DELAY_MAX_MS', DEFAULTS.delayMaxMs, 0, MAX_TIMER_MS);
  if (delayMinMs > delayMaxMs) {
    throw new ConfigError(
      'DELAY_MIN_MS',
      `must not be above DELAY_MAX_MS (${delayMaxMs})`,
      env.DELAY_MIN_MS,
    );
  }

  const trusted = parseCidrList('TRUSTED_PROXIES', env.TRUSTED_PROXIES ?? DEFAULTS.trustedProxies);

  const keepAliveTimeoutMs = readInteger(
    env,
    'KEEP_ALIVE_TIMEOUT_MS',
    DEFAULTS.keepAliveTimeoutMs,
    1,
    MAX_TIMER_MS,
  );
  const requestTimeoutMs = readInteger(
    env,
    'REQUEST_TIMEOUT_MS',
    DEFAULTS.requestTimeoutMs,
    1,
    MAX_TIMER_MS,
  );
  const headersTimeoutMs = readInteger(
    env,
    'HEADERS_TIMEOUT_MS',
    Math.min(DEFAULTS.headersTimeoutMs, requestTimeoutMs),
    1,
    MAX_TIMER_MS,
  );
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError(
      'HEADERS_TIMEOUT_MS',
      `must not be above REQUEST_TIMEOUT_MS (${requestTimeoutMs}), as Node requires`,
      env.HEADERS_TIMEOUT_MS,
    );
  }

  const version = env.VERSION?.trim() || packageJson.version;
  if (!/^[\x21-\x7e]{1,64}$/.test(version)) {
    throw new ConfigError('VERSION', 'must be 1 to 64 visible ASCII characters', env.VERSION);
  }

  const protocol = env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim();
  if (protocol && protocol !== 'http/protobuf') {
    throw new ConfigError(
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      'must be "http/protobuf", the only OTLP protocol this service ships',
      protocol,
    );
  }
  const metricExportIntervalMs = readInteger(
    env,
    'OTEL_METRIC_EXPORT_INTERVAL',
    DEFAULTS.metricExportIntervalMs,
    100,
    MAX_TIMER_MS,
  );
  const metricExportTimeoutMs = readInteger(
    env,
    'OTEL_METRIC_EXPORT_TIMEOUT',
    Math.min(DEFAULTS.metricExportTimeoutMs, metricExportIntervalMs),
    1,
    MAX_TIMER_MS,
  );
  if (metricExportTimeoutMs > metricExportIntervalMs) {
    throw new ConfigError(
      'OTEL_METRIC_EXPORT_TIMEOUT',
      `must not be above OTEL_METRIC_EXPORT_INTERVAL (${metricExportIntervalMs})`,
      env.OTEL_METRIC_EXPORT_TIMEOUT,
    );
  }

  const config: Config = {
    port,
    host,
    metricsPort,
    delayMinMs,
    delayMaxMs,
    maxDelayMs,
    logLevel: readLogLevel(env),
    trustedProxies: Object.freeze(trusted.entries),
    trustedProxyList: trusted.list,
    shutdownDelayMs: readInteger(
      env,
      'SHUTDOWN_DELAY_MS',
      DEFAULTS.shutdownDelayMs,
      0,
      MAX_TIMER_MS,
    ),
    shutdownTimeoutMs: readInteger(
      env,
      'SHUTDOWN_TIMEOUT_MS',
      DEFAULTS.shutdownTimeoutMs,
      0,
      MAX_TIMER_MS,
    ),
    keepAliveTimeoutMs,
    headersTimeoutMs,
    requestTimeoutMs,
    version,
    serviceName: env.OTEL_SERVICE_NAME?.trim() || DEFAULTS.serviceName,
    telemetryEnabled: !readBoolean(env, 'OTEL_SDK_DISABLED', false),
    otlpMetricsEndpoint: readOtlpEndpoint(env, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', 'metrics'),
    otlpLogsEndpoint: readOtlpEndpoint(env, 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT', 'logs'),
    metricExportIntervalMs,
    metricExportTimeoutMs,
    resourceAttributes: Object.freeze(readResourceAttributes(env)),
    knative: Object.freeze({
      ...(env.K_SERVICE ? { service: env.K_SERVICE } : {}),
      ...(env.K_REVISION ? { revision: env.K_REVISION } : {}),
      ...(env.K_CONFIGURATION ? { configuration: env.K_CONFIGURATION } : {}),
    }),
  };
  return Object.freeze(config);
}
