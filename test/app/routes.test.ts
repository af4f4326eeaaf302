import { describe, expect, it } from 'vitest';

import { buildTestApp, nodeEnv } from '../support/app.ts';

describe('GET /', () => {
  it('echoes headers and lists them in the body', async () => {
    const { app } = buildTestApp();
    const res = await app.request('/', { headers: { 'X-Course': 'cncamp', Accept: 'text/plain' } });

    expect(res.status).toBe(200);
    expect(res.headers.get('x-course')).toBe('cncamp');
    expect(res.headers.get('accept')).toBe('text/plain');
    expect(res.headers.get('content-type')).toBe('text/plain; charset=UTF-8');
    const body = await res.text();
    expect(body).toContain('x-course: cncamp\n');
    expect(body).toContain('accept: text/plain\n');
  });

  it('keeps every value of repeated headers', async () => {
    const { app } = buildTestApp();
    const raw = ['X-Tag', 'a', 'X-Tag', 'b', 'Host', 'example.test'];
    const res = await app.request('/', {}, nodeEnv('127.0.0.1', raw));

    expect(res.headers.get('x-tag')).toBe('a, b');
    const body = await res.text();
    expect(body).toContain('x-tag: a\nx-tag: b\n');
  });

  it('never echoes framing, hop-by-hop or credential headers', async () => {
    const { app } = buildTestApp();
    const raw = [
      'Authorization',
      'Bearer secret-token',
      'Proxy-Authorization',
      'Basic c2VjcmV0',
      'Cookie',
      'session=secret-cookie',
      'Connection',
      'keep-alive',
      'Keep-Alive',
      'timeout=5',
      'TE',
      'trailers',
      'Trailer',
      'Expires',
      'Upgrade',
      'websocket',
      'Proxy-Connection',
      'keep-alive',
      'Content-Length',
      '0',
      'Content-Type',
      'text/html',
      'Host',
      'example.test',
      'Set-Cookie',
      'injected=1',
      'Location',
      'https://evil.test/',
      'X-Safe',
      'yes',
    ];
    const res = await app.request('/', {}, nodeEnv('127.0.0.1', raw));

    for (const name of [
      'authorization',
      'proxy-authorization',
      'cookie',
      'keep-alive',
      'te',
      'trailer',
      'upgrade',
      'proxy-connection',
      'host',
      'set-cookie',
      'location',
    ]) {
      expect(res.headers.has(name), name).toBe(false);
    }
    expect(res.headers.get('content-type')).toBe('text/plain; charset=UTF-8');
    expect(res.headers.get('x-safe')).toBe('yes');

    const body = await res.text();
    expect(body).not.toContain('secret-token');
    expect(body).not.toContain('c2VjcmV0');
    expect(body).not.toContain('secret-cookie');
    expect(body).toContain('authorization: [redacted]\n');
    expect(body).toContain('cookie: [redacted]\n');
  });
});

describe('GET /hello', () => {
  it('greets the user after the chosen delay', async () => {
    const { app } = buildTestApp({
      env: { DELAY_MIN_MS: '0', DELAY_MAX_MS: '40' },
      random: () => 0.5,
    });
    const started = performance.now();
    const res = await app.request('/hello?user=alice', { headers: { 'X-Trace': 't1' } });
    const elapsed = performance.now() - started;

    expect(res.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(19);
    const body = await res.text();
    expect(body.startsWith('hello [alice]\n')).toBe(true);
    expect(body).toContain('x-trace: t1\n');
    expect(res.headers.get('x-trace')).toBe('t1');
  });

  it('greets a stranger without user', async () => {
    const { app } = buildTestApp();
    const res = await app.request('/hello');

    expect(res.status).toBe(200);
    expect((await res.text()).startsWith('hello [stranger]\n')).toBe(true);
  });

  it('rejects a user over 256 characters', async () => {
    const { app } = buildTestApp();
    const ok = await app.request(`/hello?user=${'a'.repeat(256)}`);
    const tooLong = await app.request(`/hello?user=${'a'.repeat(257)}`);

    expect(ok.status).toBe(200);
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toEqual({
      code: 'bad_request',
      message: 'query parameter "user" must be at most 256 characters, received 257',
    });
  });

  it('rejects a repeated user parameter', async () => {
    const { app } = buildTestApp();
    const res = await app.request('/hello?user=a&user=b');

    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('bad_request');
  });

  it('rejects control characters in user', async () => {
    const { app } = buildTestApp();
    const res = await app.request('/hello?user=a%0d%0aSet-Cookie:%20x=1');

    expect(res.status).toBe(400);
  });

  it('stops waiting when the client aborts', async () => {
    const { app, logs } = buildTestApp({ env: { DELAY_MIN_MS: '5000', DELAY_MAX_MS: '5000' } });
    const controller = new AbortController();
    const started = performance.now();
    const pending = app.request('/hello', { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    const res = await pending;

    expect(performance.now() - started).toBeLessThan(1_000);
    expect(res.status).toBe(499);
    const access = logs().find((line) => line.msg === 'request completed');
    expect(access?.status).toBe(499);
  });
});

describe('probes', () => {
  it('healthz answers 200', async () => {
    const { app } = buildTestApp();
    const res = await app.request('/healthz');

    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok\n');
  });

  it('readyz follows the readiness state', async () => {
    const { app, state } = buildTestApp();
    state.ready = false;
    const starting = await app.request('/readyz');
    state.ready = true;
    const ready = await app.request('/readyz');
    state.ready = false;
    state.shuttingDown = true;
    const stopping = await app.request('/readyz');

    expect(starting.status).toBe(503);
    expect(((await starting.json()) as { message: string }).message).toBe('not ready: starting');
    expect(ready.status).toBe(200);
    expect(stopping.status).toBe(503);
    expect(((await stopping.json()) as { message: string }).message).toBe(
      'not ready: shutting down',
    );
    expect(stopping.headers.get('connection')).toBe('close');
  });
});

describe('GET /version', () => {
  it('returns version, node and start time', async () => {
    const startTime = new Date('2026-01-02T03:04:05.000Z');
    const { app } = buildTestApp({ env: { VERSION: '1.2.3' }, startTime });
    const res = await app.request('/version');

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      version: '1.2.3',
      node: process.version,
      start_time: '2026-01-02T03:04:05.000Z',
    });
  });
});

describe('GET /status/:code', () => {
  it.each([200, 201, 404, 418, 500, 503, 599])('answers %i', async (code) => {
    const { app } = buildTestApp();
    const res = await app.request(`/status/${code}`);

    expect(res.status).toBe(code);
  });

  it('sends no body for 204 and 304', async () => {
    const { app } = buildTestApp();
    for (const code of [204, 304]) {
      const res = await app.request(`/status/${code}`);
      expect(res.status).toBe(code);
      expect(await res.text()).toBe('');
    }
  });

  it.each(['99', '100', '199', '600', '1000', 'abc', '2e2', '-200'])(
    'rejects %s with 400',
    async (code) => {
      const { app } = buildTestApp();
      const res = await app.request(`/status/${code}`);

      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('bad_request');
    },
  );
});

describe('GET /delay/:ms', () => {
  it('waits the given milliseconds', async () => {
    const { app } = buildTestApp();
    const started = performance.now();
    const res = await app.request('/delay/30');

    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
    expect(await res.json()).toEqual({ delay_ms: 30 });
  });

  it.each(['10001', '-1', 'abc', '1.5', '99999999999'])('rejects %s with 400', async (ms) => {
    const { app } = buildTestApp();
    const res = await app.request(`/delay/${ms}`);

    expect(res.status).toBe(400);
  });

  it('honours MAX_DELAY_MS', async () => {
    const { app } = buildTestApp({ env: { MAX_DELAY_MS: '50' } });

    expect((await app.request('/delay/50')).status).toBe(200);
    expect((await app.request('/delay/51')).status).toBe(400);
  });
});

describe('errors and common headers', () => {
  it('answers 404 with a JSON reason', async () => {
    const { app } = buildTestApp();
    const res = await app.request('/no/such/path');

    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ code: 'not_found', message: 'no route matches this path' });
  });

  it('answers 405 with Allow on a known path', async () => {
    const { app } = buildTestApp();
    const res = await app.request('/hello', { method: 'POST' });

    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect(((await res.json()) as { code: string }).code).toBe('method_not_allowed');
  });

  it('answers OPTIONS with 204 and Allow', async () => {
    const { app } = buildTestApp();
    const res = await app.request('/', { method: 'OPTIONS' });

    expect(res.status).toBe(204);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers HEAD like GET without a body', async () => {
    const { app } = buildTestApp();
    const res = await app.request('/version', { method: 'HEAD' });

    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });

  it('sets Version and X-Request-Id on every response', async () => {
    const { app } = buildTestApp({ env: { VERSION: '9.9.9' } });
    for (const path of ['/', '/healthz', '/metrics', '/nope', '/status/500', '/status/abc']) {
      const res = await app.request(path);
      expect(res.headers.get('version'), path).toBe('9.9.9');
      expect(res.headers.get('x-request-id'), path).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('echoes a safe X-Request-Id and replaces an unsafe one', async () => {
    const { app } = buildTestApp();
    const safe = await app.request('/healthz', { headers: { 'X-Request-Id': 'req-42.a:b_c' } });
    const unsafe = await app.request('/healthz', { headers: { 'X-Request-Id': 'a b<script>' } });

    expect(safe.headers.get('x-request-id')).toBe('req-42.a:b_c');
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
