import { describe, expect, it } from 'vitest';

import { buildTestApp, nodeEnv } from '../support/app.ts';

const ACCESS_LOG_KEYS = [
  'client_ip',
  'duration_ms',
  'level',
  'method',
  'msg',
  'path',
  'request_id',
  'route',
  'status',
  'time',
  'user_agent',
];

describe('access log', () => {
  it('writes one line with the fixed keys', async () => {
    const { app, logs } = buildTestApp({ env: { LOG_LEVEL: 'info' } });
    await app.request(
      '/hello?user=x',
      { headers: { 'User-Agent': 'vitest', 'X-Request-Id': 'req-1' } },
      nodeEnv('10.1.2.3'),
    );

    const lines = logs().filter((line) => line.msg === 'request completed');
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(Object.keys(line ?? {}).sort()).toEqual(ACCESS_LOG_KEYS);
    expect(line).toMatchObject({
      level: 'info',
      method: 'GET',
      route: '/hello',
      path: '/hello',
      status: 200,
      client_ip: '10.1.2.3',
      user_agent: 'vitest',
      request_id: 'req-1',
    });
    expect(typeof line?.duration_ms).toBe('number');
    expect(new Date(line?.time as string).toISOString()).toBe(line?.time);
  });

  it('adds trace ids from a W3C traceparent', async () => {
    const { app, logs } = buildTestApp();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await app.request('/', { headers: { traceparent } });
    await app.request('/', {
      headers: { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' },
    });

    const [valid, zero] = logs().filter((line) => line.msg === 'request completed');
    expect(valid?.trace_id).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(valid?.span_id).toBe('00f067aa0ba902b7');
    expect(zero).not.toHaveProperty('trace_id');
  });

  it('logs 5xx at error and 4xx at warn', async () => {
    const { app, logs } = buildTestApp();
    await app.request('/status/502');
    await app.request('/status/404');
    await app.request('/status/200');

    const levels = logs()
      .filter((line) => line.msg === 'request completed')
      .map((line) => [line.status, line.level]);
    expect(levels).toEqual([
      [502, 'error'],
      [404, 'warn'],
      [200, 'info'],
    ]);
  });

  it('logs probes only at debug', async () => {
    const { app, logs } = buildTestApp({ env: { LOG_LEVEL: 'info' } });
    await app.request('/healthz');
    await app.request('/metrics');

    expect(logs()).toEqual([]);
  });

  it('truncates long paths', async () => {
    const { app, logs } = buildTestApp();
    await app.request(`/${'p'.repeat(1_000)}`);

    const [line] = logs().filter((l) => l.msg === 'request completed');
    expect(line?.path).toBe(`/${'p'.repeat(255)}...`);
  });

  it('never logs credentials', async () => {
    const { app, logs } = buildTestApp();
    await app.request('/', {
      headers: { Authorization: 'Bearer top-secret', Cookie: 'sid=top-secret' },
    });

    expect(JSON.stringify(logs())).not.toContain('top-secret');
  });

  it('logs the chosen delay at debug', async () => {
    const { app, logs } = buildTestApp({ env: { LOG_LEVEL: 'debug' } });
    await app.request('/hello');

    const debug = logs().find((line) => line.msg === 'hello delay chosen');
    expect(debug?.level).toBe('debug');
    expect(debug?.delay_ms).toBe(0);
  });

  it('takes the client ip from a trusted proxy only', async () => {
    const { app, logs } = buildTestApp();
    const headers = { 'X-Forwarded-For': '203.0.113.9' };
    await app.request('/', { headers }, nodeEnv('127.0.0.1'));
    await app.request('/', { headers }, nodeEnv('198.51.100.7'));

    const ips = logs()
      .filter((line) => line.msg === 'request completed')
      .map((line) => line.client_ip);
    expect(ips).toEqual(['203.0.113.9', '198.51.100.7']);
  });
});
