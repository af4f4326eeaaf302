import { describe, expect, it } from 'vitest';

import { buildTestApp } from '../support/app.ts';

/** A clock that advances by the given steps, one per call, so durations are exact. */
function steppingClock(stepsMs: number[]): () => number {
  let time = 1_000;
  let call = 0;
  return () => {
    time += stepsMs[call % stepsMs.length] ?? 0;
    call += 1;
    return time;
  };
}

function seriesNames(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.slice(0, line.lastIndexOf(' ')));
}

describe('/metrics', () => {
  it('matches the golden exposition', async () => {
    // Each request reads the clock at start, (for /hello) twice in the handler, and at end.
    const { app } = buildTestApp({
      now: steppingClock([0, 0, 1_500, 0]),
      env: { VERSION: '1.0.0' },
    });
    await app.request('/hello?user=golden');
    await app.request('/status/503');
    await app.request('/missing');
    await app.request('/healthz');

    const res = await app.request('/metrics');

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    await expect(await res.text()).toMatchFileSnapshot('fixtures/metrics.golden.prom');
  });

  it('gives every metric a HELP text', async () => {
    const { app, telemetry } = buildTestApp();
    await telemetry.startRuntimeMetrics();
    await app.request('/hello');
    // The event-loop delay monitor samples every 10 ms; give it a few samples.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const text = await (await app.request('/metrics')).text();

    const typed = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    const helped = new Set([...text.matchAll(/^# HELP (\S+) \S/gm)].map((m) => m[1]));
    expect(typed.length).toBeGreaterThan(10);
    for (const name of typed) expect(helped.has(name), name).toBe(true);
    for (const name of [
      'nodejs_eventloop_delay_p99',
      'v8js_memory_heap_used',
      'process_cpu_time_total',
      'process_memory_usage',
    ]) {
      expect(typed, name).toContain(name);
    }
  });

  it('keeps probes and /metrics out of request metrics', async () => {
    const { app } = buildTestApp();
    await app.request('/healthz');
    await app.request('/readyz');
    await app.request('/metrics');
    const text = await (await app.request('/metrics')).text();

    expect(text).not.toContain('http_route="/healthz"');
    expect(text).not.toContain('http_route="/readyz"');
    expect(text).not.toContain('http_route="/metrics"');
    expect(text).not.toMatch(/^httpserver_execution_latency_seconds_count/m);
  });

  it('maps unknown methods to _OTHER', async () => {
    const { app } = buildTestApp();
    await app.request('/hello', { method: 'BREW' });
    const text = await (await app.request('/metrics')).text();

    expect(text).toContain('http_request_method="_OTHER",http_route="/hello"');
    expect(text).not.toContain('BREW');
  });

  it('adds no series for 5,000 random paths', async () => {
    const { app } = buildTestApp();
    await app.request('/warm-up-unmatched');
    const before = seriesNames(await (await app.request('/metrics')).text());

    for (let i = 0; i < 5_000; i += 1) {
      const path = `/${Math.random().toString(36).slice(2)}/${i}`;
      const res = await app.request(path);
      expect(res.status).toBe(404);
    }
    const after = seriesNames(await (await app.request('/metrics')).text());

    expect(after).toEqual(before);
    expect(after.some((name) => name.includes('http_route="unmatched"'))).toBe(true);
  });

  it('records nothing when telemetry is off', async () => {
    const { app } = buildTestApp({ env: { OTEL_SDK_DISABLED: 'true' } });
    await app.request('/hello');
    const res = await app.request('/metrics');

    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });
});
