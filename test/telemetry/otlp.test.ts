import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, describe, expect, it } from 'vitest';

import { startService, stopAllServices } from '../support/process.ts';

afterAll(stopAllServices);

interface Received {
  path: string;
  contentType: string | undefined;
  body: Buffer;
}

/** A stand-in OTLP/HTTP receiver on loopback that records every export and responds 200. */
async function startReceiver(): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks),
      });
      res.writeHead(200, { 'Content-Type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, server };
}

function get(url: string): Promise<{ status: number; elapsedMs: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, elapsedMs: performance.now() - started }),
      );
    })
      .on('error', reject)
      .end();
  });
}

describe('OTLP push', () => {
  it('exports metrics and logs and flushes them on SIGTERM', async () => {
    const receiver = await startReceiver();
    try {
      const service = await startService({
        env: {
          DELAY_MAX_MS: '0',
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          // Far longer than the test: only the shutdown flush can deliver the metrics.
          OTEL_METRIC_EXPORT_INTERVAL: '600000',
        },
      });
      expect((await get(`${service.url}/hello?user=otlp`)).status).toBe(200);

      const code = await service.stop('SIGTERM');
      const metrics = receiver.received.filter((r) => r.path === '/v1/metrics');
      const logs = receiver.received.filter((r) => r.path === '/v1/logs');
      const metricText = Buffer.concat(metrics.map((r) => r.body)).toString('latin1');
      const logText = Buffer.concat(logs.map((r) => r.body)).toString('latin1');

      expect(code).toBe(0);
      expect(metrics.length).toBeGreaterThan(0);
      expect(metrics[0]?.contentType).toBe('application/x-protobuf');
      expect(metricText).toContain('httpserver_execution_latency_seconds');
      expect(metricText).toContain('http.server.request.duration');
      expect(metricText).toContain('service.instance.id');
      expect(logs.length).toBeGreaterThan(0);
      expect(logText).toContain('request completed');
      expect(logText).toContain('/hello');
    } finally {
      receiver.server.close();
    }
  });

  it('keeps requests fast with the collector down', async () => {
    // Bind and release a port so that nothing listens on it.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const service = await startService({
      env: {
        DELAY_MAX_MS: '0',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_METRIC_EXPORT_INTERVAL: '200',
        OTEL_METRIC_EXPORT_TIMEOUT: '100',
      },
    });

    const timings: number[] = [];
    const deadline = performance.now() + 2_500;
    while (performance.now() < deadline) {
      const reply = await get(`${service.url}/hello`);
      expect(reply.status).toBe(200);
      timings.push(reply.elapsedMs);
    }
    const code = await service.stop('SIGTERM');

    timings.sort((a, b) => a - b);
    const p99 = timings[Math.floor(timings.length * 0.99)] ?? Infinity;
    const problems = service.logs().filter((line) => line.msg === 'telemetry export problem');
    expect(code).toBe(0);
    expect(timings.length).toBeGreaterThan(50);
    expect(p99).toBeLessThan(100);
    // Rate-limited: one line at once, then at most one every 10 s, over a run of about 3 s.
    expect(problems.length).toBeGreaterThanOrEqual(1);
    expect(problems.length).toBeLessThanOrEqual(2);
    expect(service.nonJsonLines()).toEqual([]);
    expect(service.stderr()).toBe('');
  });
});
