// Hono with @hono/prometheus: request histogram and prom-client's default process and
// runtime metrics on /metrics, plus one access log line per request.
import { performance } from 'node:perf_hooks';

import { serve } from '@hono/node-server';
import { prometheus } from '@hono/prometheus';
import { Hono } from 'hono';
import type { Context, Next } from 'hono';
import { routePath } from 'hono/route';
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status';

import { createAccessLogger, logRequest } from './access-log.ts';
import {
  announceListening,
  exitOnSigterm,
  greet,
  parseDelayMs,
  parseStatusCode,
  readListenOptions,
  sleep,
  statusAllowsBody,
} from './peer-support.ts';

const logger = createAccessLogger();
const { printMetrics, registerMetrics } = prometheus({ collectDefaultMetrics: true });
const app = new Hono();

async function logAccess(c: Context, next: Next): Promise<void> {
  const start = performance.now();
  await next();
  logRequest(logger, {
    method: c.req.method,
    route: routePath(c),
    path: c.req.path,
    status: c.res.status,
    durationMs: performance.now() - start,
    userAgent: c.req.header('user-agent'),
  });
}

app.use('*', logAccess);
app.use('*', registerMetrics);

app.get('/metrics', printMetrics);
app.get('/healthz', (c) => c.text('ok\n'));
app.get('/hello', (c) => {
  const { status, body } = greet(c.req.query('user'));
  return c.text(body, status);
});
app.get('/status/:code', (c) => {
  const code = parseStatusCode(c.req.param('code'));
  if (code === null) return c.text('invalid status code\n', 400);
  if (!statusAllowsBody(code)) return c.body(null, code as StatusCode);
  return c.text(`${code}\n`, code as ContentfulStatusCode);
});
app.get('/delay/:ms', async (c) => {
  const ms = parseDelayMs(c.req.param('ms'));
  if (ms === null) return c.text('invalid delay\n', 400);
  await sleep(ms);
  return c.text(`waited ${ms} ms\n`);
});

exitOnSigterm();
const { port, host } = readListenOptions();
serve({ fetch: app.fetch, port, hostname: host }, (info) => {
  announceListening('hono-prometheus', info.port);
});
