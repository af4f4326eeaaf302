import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { exportRuleFile, listRecordingRules, readPrometheusRuleSpec } from '../../src/cli/rules.ts';
import { ROOT, startService, type RunningService } from '../support/process.ts';
import { startPrometheus, type TestPrometheus, type VectorSample } from '../support/prometheus.ts';
import { quantileOf, sendRequests } from './load.ts';

// /hello requests in the measured load. 600 instead of the minimum 300 halves the sampling
// noise of histogram_quantile's interpolation inside a bucket.
const HELLO_REQUESTS = 600;
// The request starts are spread over 1 s, on connections opened before the load. Sent in one
// burst on new connections, 600 requests waited 150-400 ms in the server's accept and parse
// queue (measured on 2 shared cores). The handler starts its timer only after that queue, so
// client latency would measure the queue instead of the delay. With 0-2 s delays, several
// hundred requests are still in flight at once (checked below).
const HELLO_RAMP_MS = 1_000;
const MIN_CONCURRENT_REQUESTS = 300;
// Requests per status to /status/:code during the load, for the error-ratio rules.
const STATUS_REQUESTS = 5;
const QUANTILES = [0.5, 0.9, 0.99] as const;
const MAX_RELATIVE_ERROR = 0.05;

let ruleDirectory: string;
const keepAliveAgent = new Agent({ keepAlive: true, maxSockets: Infinity });
let service: RunningService;
let prometheus: TestPrometheus;
let clientLatenciesS: number[];
let loadEndedAtS: number;
// Conditions during the load, shown with each quantile check: on a machine whose CPUs are
// saturated by other work, timers fire late and client latency includes waiting for a CPU.
let loadConditions = '';
const countsBefore = { execution: 0, requestDuration: 0 };

function relativeError(estimate: number, expected: number): number {
  return Math.abs(estimate - expected) / expected;
}

/** Keys a sample by its labels, without __name__, so recorded and direct results line up. */
function labelKey(sample: VectorSample): string {
  const labels = Object.entries(sample.metric)
    .filter(([name]) => name !== '__name__')
    .sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify(labels);
}

async function helloCounts(): Promise<{ execution: number; requestDuration: number }> {
  return {
    execution: await prometheus.queryValue(
      'sum(httpserver_execution_latency_seconds_count{job="httpserver"})',
    ),
    requestDuration: await prometheus.queryValue(
      'sum(http_server_request_duration_count{job="httpserver", http_route="/hello"})',
    ),
  };
}

beforeAll(async () => {
  ruleDirectory = mkdtempSync(join(tmpdir(), 'httpserver-rules-'));
  const ruleFile = exportRuleFile(join(ruleDirectory, 'httpserver.rules.yml'));
  service = await startService();
  prometheus = await startPrometheus({
    target: `127.0.0.1:${service.port}`,
    ruleFiles: [ruleFile],
  });

  // Warm-up: create every series before the measured load. rate() only counts increases
  // after a series' first sample, so requests before the first scrape would be lost.
  await sendRequests(`${service.url}/hello`, { count: 1 });
  await sendRequests(`${service.url}/status/503`, { count: 1 });
  await sendRequests(`${service.url}/status/200`, { count: 1 });
  await prometheus.waitForScrapes(2);
  Object.assign(countsBefore, await helloCounts());

  // Open the connections the load reuses. /healthz is never counted in the metrics.
  await sendRequests(`${service.url}/healthz`, {
    count: HELLO_REQUESTS,
    rampMs: 500,
    agent: keepAliveAgent,
  });

  const eventLoopDelay = monitorEventLoopDelay({ resolution: 10 });
  eventLoopDelay.enable();
  const [hello] = await Promise.all([
    sendRequests(`${service.url}/hello`, {
      count: HELLO_REQUESTS,
      rampMs: HELLO_RAMP_MS,
      agent: keepAliveAgent,
    }),
    sendRequests(`${service.url}/status/503`, { count: STATUS_REQUESTS }),
    sendRequests(`${service.url}/status/200`, { count: STATUS_REQUESTS }),
  ]);
  loadEndedAtS = Date.now() / 1000;
  eventLoopDelay.disable();
  const loadAverage = loadavg()[0] ?? 0;
  loadConditions =
    `test event-loop delay p99 ${(eventLoopDelay.percentile(99) / 1e6).toFixed(0)} ms, ` +
    `load average ${loadAverage.toFixed(1)} on ${availableParallelism()} CPUs`;
  if (loadAverage > availableParallelism()) {
    loadConditions += ' (more runnable processes than CPUs: client latency can include CPU waits)';
  }
  expect(hello.statuses.filter((status) => status !== 200)).toEqual([]);
  expect(hello.peakInFlight).toBeGreaterThanOrEqual(MIN_CONCURRENT_REQUESTS);
  clientLatenciesS = hello.latenciesS;

  await prometheus.waitForScrapes(2);
}, 60_000);

afterAll(async () => {
  keepAliveAgent.destroy();
  await prometheus?.stop();
  await service?.stop();
  if (ruleDirectory !== undefined) rmSync(ruleDirectory, { recursive: true, force: true });
});

describe('latency quantiles on a real Prometheus', () => {
  const histograms = [
    {
      name: 'httpserver_execution_latency_seconds',
      selector: 'httpserver_execution_latency_seconds_bucket{job="httpserver"}',
    },
    {
      name: 'http_server_request_duration',
      selector: 'http_server_request_duration_bucket{job="httpserver", http_route="/hello"}',
    },
  ];

  for (const histogram of histograms) {
    for (const q of QUANTILES) {
      it(`${histogram.name} p${q * 100} within 5% of client`, async ({ annotate }) => {
        const estimate = await prometheus.queryValue(
          `histogram_quantile(${q}, sum by (le) (rate(${histogram.selector}[1m])))`,
        );
        const clientQuantile = quantileOf(clientLatenciesS, q);
        const error = relativeError(estimate, clientQuantile);
        const measured =
          `Prometheus ${estimate.toFixed(4)} s, client ${clientQuantile.toFixed(4)} s, ` +
          `error ${(error * 100).toFixed(2)}%; ${loadConditions}`;
        await annotate(measured);
        expect(error, measured).toBeLessThanOrEqual(MAX_RELATIVE_ERROR);
      });
    }
  }

  it('counts every request sent', async () => {
    const after = await helloCounts();

    expect(after.execution - countsBefore.execution).toBe(HELLO_REQUESTS);
    expect(after.requestDuration - countsBefore.requestDuration).toBe(HELLO_REQUESTS);
  });
});

describe('recording rules on a real Prometheus', () => {
  const recordingRules = listRecordingRules(readPrometheusRuleSpec());

  it('file has recording rules', () => {
    expect(recordingRules.length).toBeGreaterThan(0);
  });

  for (const rule of recordingRules) {
    it(`${rule.record} matches its expression`, async () => {
      // Compare at the rule's own evaluation time T. A scrape that started before T but was
      // stored after the evaluation can make the two differ, so retry with a later T.
      let mismatch = '';
      for (let attempt = 1; attempt <= 5; attempt += 1) {
        const evaluationTimes = await prometheus.query(`timestamp(${rule.record})`);
        const evaluatedAtS = evaluationTimes[0]?.value;
        if (evaluatedAtS === undefined || evaluatedAtS < loadEndedAtS + 1) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          continue;
        }
        const recorded = await prometheus.query(rule.record, evaluatedAtS);
        const direct = await prometheus.query(rule.expr, evaluatedAtS);
        expect(recorded.length).toBeGreaterThan(0);

        const directByLabels = new Map(direct.map((sample) => [labelKey(sample), sample.value]));
        const differences = recorded.filter((sample) => {
          const expected = directByLabels.get(labelKey(sample));
          if (expected === undefined) return true;
          if (Number.isNaN(expected)) return !Number.isNaN(sample.value);
          return Math.abs(sample.value - expected) > 1e-9 * Math.max(1, Math.abs(expected));
        });
        if (direct.length === recorded.length && differences.length === 0) return;
        mismatch = `recorded ${JSON.stringify(recorded)} direct ${JSON.stringify(direct)}`;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      expect.fail(`${rule.record} never matched its expression after the load: ${mismatch}`);
    });
  }

  it('records /hello quantiles near client', async () => {
    for (const q of QUANTILES) {
      const clientQuantile = quantileOf(clientLatenciesS, q);
      const byRoute = await prometheus.queryValue(
        `job_http_route:http_server_request_duration:p${q * 100}_rate5m{job="httpserver", http_route="/hello"}`,
      );
      const course = await prometheus.queryValue(
        `job:httpserver_execution_latency_seconds:p${q * 100}_rate5m{job="httpserver"}`,
      );

      expect(relativeError(byRoute, clientQuantile)).toBeLessThanOrEqual(MAX_RELATIVE_ERROR);
      expect(relativeError(course, clientQuantile)).toBeLessThanOrEqual(MAX_RELATIVE_ERROR);
    }
  });

  it('records the 5xx ratio by route', async () => {
    const statusRoute = await prometheus.queryValue(
      'job_http_route:http_server_request_errors_per_requests:ratio_rate5m{job="httpserver", http_route="/status/:code"}',
    );
    const hello = await prometheus.queryValue(
      'job_http_route:http_server_request_errors_per_requests:ratio_rate5m{job="httpserver", http_route="/hello"}',
    );

    // Half of the requests to /status/:code after the warm-up asked for 503.
    expect(statusRoute).toBeCloseTo(0.5, 9);
    expect(hello).toBe(0);
  });
});

describe('documented queries on a real Prometheus', () => {
  const documents = [
    'otel/prometheus/README.md',
    ...readdirSync(join(ROOT, 'docs/runbooks')).map((name) => `docs/runbooks/${name}`),
  ];
  const queries = documents.flatMap((document) =>
    [...readFileSync(join(ROOT, document), 'utf8').matchAll(/```promql\n([\s\S]*?)```/g)].map(
      (match, index) => ({ document, index, promql: match[1] ?? '' }),
    ),
  );

  it('finds queries in the docs', () => {
    expect(queries.length).toBeGreaterThan(10);
  });

  for (const { document, index, promql } of queries) {
    it(`${document} query ${index + 1} evaluates`, async () => {
      await expect(prometheus.query(promql)).resolves.toBeInstanceOf(Array);
    });
  }
});
