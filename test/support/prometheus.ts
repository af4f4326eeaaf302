/**
 * A real Prometheus for integration tests: started on 127.0.0.1 with a free port and a
 * temporary directory, scraping one target every second.
 *
 *   const prometheus = await startPrometheus({ target: `127.0.0.1:${service.port}` });
 *   await prometheus.waitForScrapes(2);
 *   const value = await prometheus.queryValue('sum(up)');
 *   await prometheus.stop(); // or stopAllPrometheus() in afterAll
 *
 * A missing binary fails the test with an install hint: these tests never skip.
 */
import {
  findPrometheusBinary,
  PROMETHEUS_INSTALL_HINT,
  startLocalPrometheus,
  type LocalPrometheus,
  type LocalPrometheusOptions,
} from '../../src/cli/local-prometheus.ts';

export type { LocalPrometheusOptions } from '../../src/cli/local-prometheus.ts';
export type { VectorSample } from '../../src/cli/prometheus-api.ts';

/** A running test Prometheus. */
export interface TestPrometheus extends LocalPrometheus {
  /**
   * Runs an instant query that must return exactly one series and returns its value.
   * Throws with the query and the series found otherwise.
   */
  queryValue(promql: string, time?: number): Promise<number>;
}

const running = new Set<TestPrometheus>();

/** Path of the prometheus binary the tests use, or undefined when it is missing. */
export function prometheusBinary(): string | undefined {
  return findPrometheusBinary(process.env.PROMETHEUS_BIN);
}

/**
 * Starts Prometheus against `options.target` and waits until it is ready. The binary is
 * PROMETHEUS_BIN if set, else the first `prometheus` on PATH, else /usr/bin/prometheus.
 */
export async function startPrometheus(options: LocalPrometheusOptions): Promise<TestPrometheus> {
  const binary = options.binary ?? prometheusBinary();
  if (binary === undefined) {
    throw new Error(`the Prometheus tests need the prometheus binary: ${PROMETHEUS_INSTALL_HINT}`);
  }
  const local = await startLocalPrometheus({ ...options, binary });

  async function queryValue(promql: string, time?: number): Promise<number> {
    const samples = await local.query(promql, time);
    const [sample] = samples;
    if (samples.length !== 1 || sample === undefined) {
      throw new Error(
        `expected exactly one series from ${promql}, got ${samples.length}: ${JSON.stringify(samples)}`,
      );
    }
    return sample.value;
  }

  const prometheus: TestPrometheus = {
    ...local,
    queryValue,
    async stop() {
      running.delete(prometheus);
      await local.stop();
    },
  };
  running.add(prometheus);
  return prometheus;
}

/** Stops every Prometheus this module started and removes their directories; for afterAll. */
export async function stopAllPrometheus(): Promise<void> {
  await Promise.all([...running].map((prometheus) => prometheus.stop()));
}
