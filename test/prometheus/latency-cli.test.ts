import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildLatencyQueries } from '../../src/cli/latency-report.ts';
import { findFreePort } from '../../src/cli/local-prometheus.ts';
import { ROOT, startService, type RunningService } from '../support/process.ts';
import { startPrometheus, type TestPrometheus } from '../support/prometheus.ts';
import { sendRequests } from './load.ts';

const run = promisify(execFile);
const HELLO_REQUESTS = 40;

let service: RunningService;
let prometheus: TestPrometheus;

/** Runs `npm run latency` (node src/cli/latency.ts) and returns its exit code and output. */
async function runLatencyCli(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['src/cli/latency.ts', ...args], {
      cwd: ROOT,
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

/** Reads the seconds printed in the p50/p90/p99 rows, one array per row. */
function quantileRows(stdout: string): Record<string, number[]> {
  const rows: Record<string, number[]> = {};
  for (const line of stdout.split('\n')) {
    const match = /^(p50|p90|p99)\s+(.*)$/.exec(line);
    if (match === null) continue;
    rows[match[1] ?? ''] = [...(match[2] ?? '').matchAll(/([0-9.]+) s/g)].map((cell) =>
      Number(cell[1]),
    );
  }
  return rows;
}

beforeAll(async () => {
  service = await startService();
  prometheus = await startPrometheus({ target: `127.0.0.1:${service.port}` });
  await sendRequests(`${service.url}/hello`, { count: 1 });
  await prometheus.waitForScrapes(2);
  await sendRequests(`${service.url}/hello`, { count: HELLO_REQUESTS, rampMs: 200 });
  await prometheus.waitForScrapes(2);
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await service?.stop();
});

describe('latency CLI', () => {
  it('prints what Prometheus returns', async () => {
    const result = await runLatencyCli('--prometheus', prometheus.url, '--window', '1m');
    const rows = quantileRows(result.stdout);
    const queries = buildLatencyQueries({ route: '/hello', window: '1m' });

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('/hello latency over the last 1m');
    expect(Object.keys(rows)).toEqual(['p50', 'p90', 'p99']);
    for (const [row, q] of [
      ['p50', 0.5],
      ['p90', 0.9],
      ['p99', 0.99],
    ] as const) {
      const requestDuration = await prometheus.queryValue(queries.requestDuration(q));
      const executionLatency = await prometheus.queryValue(queries.executionLatency(q));
      expect(rows[row]?.[0]).toBeCloseTo(requestDuration, 2);
      expect(rows[row]?.[1]).toBeCloseTo(executionLatency, 2);
    }
  });

  it('draws a histogram of all requests', async () => {
    const result = await runLatencyCli('--prometheus', prometheus.url, '--window', '1m');
    const counts = result.stdout
      .split('\n')
      .filter((line) => / s \| /.test(line))
      .map((line) => Number(line.trim().split(/\s+/).at(-1)));
    const total = counts.reduce((sum, count) => sum + count, 0);

    expect(counts.length).toBeGreaterThan(3);
    // increase() extrapolates the ~10 s of samples by up to one scrape interval, so the
    // total is an estimate that can exceed the requests sent by about 20%.
    expect(total).toBeGreaterThanOrEqual(HELLO_REQUESTS * 0.9);
    expect(total).toBeLessThanOrEqual(HELLO_REQUESTS * 1.3);
  });

  it('reports an unreachable server', async () => {
    const port = await findFreePort();
    const result = await runLatencyCli('--prometheus', `http://127.0.0.1:${port}`);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      new RegExp(
        `^error: cannot reach Prometheus at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`,
      ),
    );
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('reports an empty result', async () => {
    const result = await runLatencyCli('--prometheus', prometheus.url, '--route', '/nothing');

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^error: no samples of http_server_request_duration for route \/nothing in the last 5m/,
    );
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('reports an invalid URL', async () => {
    const result = await runLatencyCli('--prometheus', 'localhost:9090');

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'error: invalid Prometheus URL "localhost:9090": the scheme must be http or https, not localhost\n',
    );
  });

  it('reports a server that is not Prometheus', async () => {
    const result = await runLatencyCli('--prometheus', service.url);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /without a Prometheus API response|not a Prometheus API response/,
    );
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('reports an invalid window', async () => {
    const result = await runLatencyCli('--prometheus', prometheus.url, '--window', 'five');

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'error: invalid window "five": use a Prometheus duration such as 30s, 5m or 1h\n',
    );
  });
});
