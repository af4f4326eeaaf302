import { afterAll, describe, expect, it } from 'vitest';

import { startService, stopAllServices } from '../support/process.ts';
import { rawRequest } from './raw-http.ts';

afterAll(stopAllServices);

describe('requests the adapter rejects', () => {
  it('logs each with its own path', async () => {
    const service = await startService();

    // A Host value with a space cannot become a URL, so @hono/node-server rejects it before
    // the app runs. Two in a row show the log line names each request, not a stale one.
    for (const path of ['/first', '/second']) {
      const exchange = await rawRequest(
        service.port,
        `GET ${path} HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n`,
      );
      expect(exchange.responses[0]?.status).toBe(400);
    }
    await service.waitForLog((line) => line.msg === 'request rejected' && line.path === '/second');

    const rejected = service.logs().filter((line) => line.msg === 'request rejected');
    expect(rejected.map((line) => line.path)).toEqual(['/first', '/second']);
    expect(rejected.map((line) => line.status)).toEqual([400, 400]);
    expect(rejected.every((line) => line.client_ip === '127.0.0.1')).toBe(true);
  });
});
