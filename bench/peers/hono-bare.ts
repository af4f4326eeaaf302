// Bare Hono on @hono/node-server: the reference the service's targets are measured against.
// No metrics and no access log.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status';

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

const app = new Hono();

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
  announceListening('hono-bare', info.port);
});
