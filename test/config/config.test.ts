import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import packageJson from '../../package.json' with { type: 'json' };
import { ConfigError, PARSED_ENV_VARS, parseConfig } from '../../src/config/config.ts';

describe('parseConfig', () => {
  it('applies the defaults', () => {
    const config = parseConfig({});

    expect(config).toMatchObject({
      port: 8080,
      host: undefined,
      metricsPort: undefined,
      delayMinMs: 0,
      delayMaxMs: 2_000,
      maxDelayMs: 10_000,
      logLevel: 'info',
      trustedProxies: ['127.0.0.0/8', '::1/128'],
      shutdownDelayMs: 5_000,
      shutdownTimeoutMs: 15_000,
      keepAliveTimeoutMs: 65_000,
      headersTimeoutMs: 66_000,
      requestTimeoutMs: 120_000,
      version: packageJson.version,
      serviceName: 'httpserver',
      telemetryEnabled: true,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every variable', () => {
    const config = parseConfig({
      PORT: '9000',
      HOST: '127.0.0.1',
      METRICS_PORT: '9464',
      DELAY_MIN_MS: '0',
      DELAY_MAX_MS: '0',
      MAX_DELAY_MS: '500',
      LOG_LEVEL: 'DEBUG',
      TRUSTED_PROXIES: '10.0.0.0/8',
      SHUTDOWN_DELAY_MS: '0',
      SHUTDOWN_TIMEOUT_MS: '1000',
      KEEP_ALIVE_TIMEOUT_MS: '5000',
      HEADERS_TIMEOUT_MS: '6000',
      REQUEST_TIMEOUT_MS: '7000',
      VERSION: 'v2.0.0-rc.1',
      OTEL_SERVICE_NAME: 'hello-svc',
      OTEL_SDK_DISABLED: 'true',
      K_SERVICE: 'httpserver',
      K_REVISION: 'httpserver-00001',
      K_CONFIGURATION: 'httpserver',
    });

    expect(config).toMatchObject({
      port: 9000,
      host: '127.0.0.1',
      metricsPort: 9464,
      delayMaxMs: 0,
      maxDelayMs: 500,
      logLevel: 'debug',
      trustedProxies: ['10.0.0.0/8'],
      shutdownDelayMs: 0,
      shutdownTimeoutMs: 1000,
      keepAliveTimeoutMs: 5000,
      headersTimeoutMs: 6000,
      requestTimeoutMs: 7000,
      version: 'v2.0.0-rc.1',
      serviceName: 'hello-svc',
      telemetryEnabled: false,
      knative: { service: 'httpserver', revision: 'httpserver-00001', configuration: 'httpserver' },
    });
  });

  it.each([
    ['PORT', { PORT: '70000' }, 'PORT must be a whole number from 0 to 65535, received "70000"'],
    ['PORT', { PORT: '80a' }, 'PORT must be a whole number from 0 to 65535, received "80a"'],
    ['DELAY_MAX_MS', { DELAY_MAX_MS: '-5' }, 'DELAY_MAX_MS must be a whole number'],
    [
      'DELAY_MIN_MS',
      { DELAY_MIN_MS: '3000' },
      'DELAY_MIN_MS must not be above DELAY_MAX_MS (2000), received "3000"',
    ],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of fatal, error, warn'],
    ['TRUSTED_PROXIES', { TRUSTED_PROXIES: '10.0.0.0/33' }, 'TRUSTED_PROXIES must be'],
    ['TRUSTED_PROXIES', { TRUSTED_PROXIES: 'proxy.local' }, 'TRUSTED_PROXIES must be'],
    ['METRICS_PORT', { PORT: '9000', METRICS_PORT: '9000' }, 'METRICS_PORT must differ from PORT'],
    [
      'HEADERS_TIMEOUT_MS',
      { HEADERS_TIMEOUT_MS: '9000', REQUEST_TIMEOUT_MS: '5000' },
      'HEADERS_TIMEOUT_MS must not be above REQUEST_TIMEOUT_MS (5000)',
    ],
    ['OTEL_SDK_DISABLED', { OTEL_SDK_DISABLED: 'yes' }, 'OTEL_SDK_DISABLED must be "true" or'],
    [
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      'OTEL_EXPORTER_OTLP_ENDPOINT must be an absolute http:// or https:// URL',
    ],
    [
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      'OTEL_EXPORTER_OTLP_PROTOCOL must be "http/protobuf"',
    ],
    [
      'OTEL_METRIC_EXPORT_TIMEOUT',
      { OTEL_METRIC_EXPORT_INTERVAL: '1000', OTEL_METRIC_EXPORT_TIMEOUT: '2000' },
      'OTEL_METRIC_EXPORT_TIMEOUT must not be above OTEL_METRIC_EXPORT_INTERVAL (1000)',
    ],
    [
      'OTEL_RESOURCE_ATTRIBUTES',
      { OTEL_RESOURCE_ATTRIBUTES: 'k8s.pod.uid' },
      'OTEL_RESOURCE_ATTRIBUTES must be comma-separated key=value pairs',
    ],
    ['VERSION', { VERSION: 'has space' }, 'VERSION must be 1 to 64 visible ASCII characters'],
  ] as const)('rejects a bad %s', (variable, env, message) => {
    let caught: unknown;
    try {
      parseConfig(env);
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe(variable);
    expect((caught as ConfigError).message).toContain(message);
  });

  it('resolves OTLP endpoints per signal', () => {
    const general = parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' });
    const specific = parseConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'https://loki.example/otlp/v1/logs',
    });
    const off = parseConfig({});

    expect(general.otlpMetricsEndpoint).toBe('http://collector:4318/v1/metrics');
    expect(general.otlpLogsEndpoint).toBe('http://collector:4318/v1/logs');
    expect(specific.otlpMetricsEndpoint).toBe('http://collector:4318/v1/metrics');
    expect(specific.otlpLogsEndpoint).toBe('https://loki.example/otlp/v1/logs');
    expect(off.otlpMetricsEndpoint).toBeUndefined();
    expect(off.otlpLogsEndpoint).toBeUndefined();
  });

  it('reads resource attributes', () => {
    const config = parseConfig({
      OTEL_RESOURCE_ATTRIBUTES: 'k8s.pod.uid=abc-123, deployment.environment.name=dev%20lab',
    });

    expect(config.resourceAttributes).toEqual({
      'k8s.pod.uid': 'abc-123',
      'deployment.environment.name': 'dev lab',
    });
  });

  it('lists exactly the variables it reads', () => {
    const source = readFileSync(new URL('../../src/config/config.ts', import.meta.url), 'utf8');
    const read = new Set(
      [...source.matchAll(/env\.([A-Z][A-Z0-9_]+)|\(\s*env,\s*'([A-Z][A-Z0-9_]+)'/g)].map(
        (match) => match[1] ?? match[2],
      ),
    );

    expect([...read].sort()).toEqual([...PARSED_ENV_VARS].sort());
  });
});
