import { HostMetricsInstrumentation } from '@opentelemetry/instrumentation-host-metrics';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import type { MeterProvider } from '@opentelemetry/sdk-metrics';

/**
 * Starts the Node runtime metrics (event-loop delay and utilization, V8 heap, GC) and the
 * process CPU and memory metrics on the provider.
 *
 * @returns a function that stops them.
 */
export function startRuntimeMetrics(provider: MeterProvider): () => void {
  const runtime = new RuntimeNodeInstrumentation({ enabled: false });
  runtime.setMeterProvider(provider);
  runtime.enable();

  const host = new HostMetricsInstrumentation({
    enabled: false,
    metricGroups: ['process.cpu', 'process.memory'],
  });
  host.setMeterProvider(provider);
  host.enable();

  return () => {
    runtime.disable();
    host.disable();
  };
}
