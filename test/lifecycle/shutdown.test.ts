import { request } from 'node:http';

import { afterAll, describe, expect, it } from 'vitest';

import { startService, stopAllServices } from '../support/process.ts';

afterAll(stopAllServices);

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One GET on its own connection, so each request is a distinct in-flight request. */
function get(url: string, agentOptions: { keepAlive?: boolean } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { headers: { Connection: agentOptions.keepAlive ? 'keep-alive' : 'close' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Polls /metrics until the service reports `count` requests in flight. */
async function waitForInFlight(url: string, count: number): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (performance.now() < deadline) {
    const { body } = await get(`${url}/metrics`);
    const active = [...body.matchAll(/^http_server_active_requests\{[^}]*\} (\d+)$/gm)].reduce(
      (sum, match) => sum + Number(match[1]),
      0,
    );
    if (active >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`fewer than ${count} requests in flight after 5 s`);
}

describe('shutdown on SIGTERM', () => {
  it('finishes 20 in-flight requests and exits 0', async () => {
    const service = await startService({
      env: {
        DELAY_MIN_MS: '800',
        DELAY_MAX_MS: '1200',
        SHUTDOWN_DELAY_MS: '300',
        SHUTDOWN_TIMEOUT_MS: '5000',
      },
    });
    const inFlight = Array.from({ length: 20 }, (_, i) => get(`${service.url}/hello?user=u${i}`));
    await waitForInFlight(service.url, 20);

    service.child.kill('SIGTERM');
    await service.waitForLog((line) => line.msg === 'shutdown started');
    const readyDuringDrain = await get(`${service.url}/readyz`);
    const replies = await Promise.all(inFlight);
    const { code } = await service.exited;

    expect(readyDuringDrain.status).toBe(503);
    expect(readyDuringDrain.headers.connection).toBe('close');
    expect(replies.map((reply) => reply.status)).toEqual(Array(20).fill(200));
    expect(replies.every((reply, i) => reply.body.startsWith(`hello [u${i}]`))).toBe(true);
    expect(code).toBe(0);

    const messages = service.logs().map((line) => line.msg);
    expect(messages.filter((msg) => msg === 'request completed')).toHaveLength(20);
    expect(messages.at(-1)).toBe('server stopped');
    expect(service.nonJsonLines()).toEqual([]);
  });

  it('exits 1 and reports cut requests after the timeout', async () => {
    const service = await startService({
      env: { SHUTDOWN_DELAY_MS: '0', SHUTDOWN_TIMEOUT_MS: '300' },
    });
    const slow = get(`${service.url}/delay/5000`).catch((error: Error) => error);
    await waitForInFlight(service.url, 1);

    service.child.kill('SIGTERM');
    const { code } = await service.exited;
    const outcome = await slow;

    expect(code).toBe(1);
    expect(outcome).toBeInstanceOf(Error);
    const timedOut = service
      .logs()
      .find((line) => line.msg === 'shutdown timed out, cutting requests in flight');
    expect(timedOut?.cut_requests).toBe(1);
  });

  it('exits 1 at once on a second signal', async () => {
    const service = await startService({ env: { SHUTDOWN_DELAY_MS: '10000' } });

    service.child.kill('SIGTERM');
    await service.waitForLog((line) => line.msg === 'shutdown started');
    const started = performance.now();
    service.child.kill('SIGINT');
    const { code } = await service.exited;

    expect(code).toBe(1);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('closes keep-alive connections during the drain', async () => {
    const service = await startService({ env: { SHUTDOWN_DELAY_MS: '500' } });

    service.child.kill('SIGTERM');
    await service.waitForLog((line) => line.msg === 'shutdown started');
    const reply = await get(`${service.url}/healthz`, { keepAlive: true });
    const { code } = await service.exited;

    expect(reply.status).toBe(200);
    expect(reply.headers.connection).toBe('close');
    expect(code).toBe(0);
  });
});

describe('start-up', () => {
  it('exits 1 naming the invalid variable', async () => {
    await expect(startService({ env: { DELAY_MIN_MS: '5', DELAY_MAX_MS: '1' } })).rejects.toThrow(
      /DELAY_MIN_MS must not be above DELAY_MAX_MS \(1\), received \\"5\\"/,
    );
  });

  it('serves /metrics on METRICS_PORT too', async () => {
    const service = await startService({ env: { METRICS_PORT: '0' } });
    await get(`${service.url}/hello`);
    const separate = await get(`${service.metricsUrl}/metrics`);
    const other = await get(`${service.metricsUrl}/hello`);
    await service.stop();

    expect(separate.status).toBe(200);
    expect(separate.body).toContain('httpserver_execution_latency_seconds_count');
    expect(other.status).toBe(404);
  });
});
