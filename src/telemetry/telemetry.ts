import { randomUUID } from 'node:crypto';

import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { HostMetrics } from '@opentelemetry/host-metrics';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

import type { Config } from '../config/config.ts';
import type { Logger } from './logger.ts';
import { createRequestMetrics, noopRequestMetrics, type RequestMetrics } from './metrics.ts';

/** Everything the app needs from telemetry, and the one place that shuts it down. */
export interface Telemetry {
  readonly metrics: RequestMetrics;
  /** Renders the Prometheus text exposition of every instrument. */
  renderMetrics(): Promise<string>;
  /** Flushes and stops every reader and exporter; safe to call more than once. */
  shutdown(): Promise<void>;
}

/** Content type of the Prometheus text format, version 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface TelemetryOptions {
  /** Adds the runtime (event loop, heap, GC) and process (CPU, memory) metrics. */
  readonly runtimeMetrics?: boolean;
  /** Fixes service.instance.id, for golden tests; a random UUID otherwise. */
  readonly instanceId?: string;
}

/**
 * Sets up the meter provider, the Prometheus exporter (pull only: the app serves /metrics on
 * its own port, so the exporter's server stays off) and the runtime metrics.
 */
export function setupTelemetry(
  config: Config,
  logger: Logger,
  options: TelemetryOptions = {},
): Telemetry {
  if (!config.telemetryEnabled) {
    return {
      metrics: noopRequestMetrics,
      renderMetrics: () => Promise.resolve(''),
      shutdown: () => Promise.resolve(),
    };
  }

  const resource = resourceFromAttributes({
    'service.name': config.serviceName,
    'service.version': config.version,
    'service.instance.id': options.instanceId ?? randomUUID(),
    // Knative sets K_SERVICE and K_REVISION; the FaaS resource conventions name them.
    ...(config.knative.service ? { 'faas.name': config.knative.service } : {}),
    ...(config.knative.revision ? { 'faas.version': config.knative.revision } : {}),
  });

  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ resource, readers: [exporter] });
  const meter = provider.getMeter('httpserver', config.version);
  const serializer = new PrometheusSerializer();

  const stopRuntimeMetrics: Array<() => void> = [];
  if (options.runtimeMetrics ?? true) {
    const runtime = new RuntimeNodeInstrumentation({ enabled: false });
    runtime.setMeterProvider(provider);
    runtime.enable();
    stopRuntimeMetrics.push(() => runtime.disable());

    const host = new HostMetrics({
      meterProvider: provider,
      metricGroups: ['process.cpu', 'process.memory'],
    });
    host.start();
  }

  let shutdownPromise: Promise<void> | undefined;

  return {
    metrics: createRequestMetrics(meter),

    async renderMetrics() {
      const { resourceMetrics, errors } = await exporter.collect();
      if (errors.length > 0) {
        logger.warn({ errors: errors.map(String) }, 'metric collection reported errors');
      }
      return serializer.serialize(resourceMetrics);
    },

    shutdown() {
      shutdownPromise ??= (async () => {
        for (const stop of stopRuntimeMetrics) stop();
        await provider.forceFlush();
        await provider.shutdown();
      })();
      return shutdownPromise;
    },
  };
}
