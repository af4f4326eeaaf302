// Express 5 with express-prom-bundle (method, path and status labels, prom-client's
// default metrics) and one access log line per request.
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

import express from 'express';
import type { Request } from 'express';
import promBundle from 'express-prom-bundle';

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

/** Route template that Express matched, or `unmatched`. Express types `req.route` as `any`. */
function readRoutePath(req: Request): string {
  const route = req.route as { path?: unknown } | undefined;
  return typeof route?.path === 'string' ? route.path : 'unmatched';
}

const logger = createAccessLogger();
const app = express();

app.use((req, res, next) => {
  const start = performance.now();
  res.on('finish', () => {
    logRequest(logger, {
      method: req.method,
      route: readRoutePath(req),
      path: req.originalUrl,
      status: res.statusCode,
      durationMs: performance.now() - start,
      userAgent: req.get('user-agent'),
    });
  });
  next();
});
app.use(
  promBundle({
    includeMethod: true,
    includePath: true,
    includeStatusCode: true,
    promClient: { collectDefaultMetrics: {} },
  }),
);

app.get('/healthz', (_req, res) => {
  res.type('text').send('ok\n');
});
app.get('/hello', (req, res) => {
  const user = typeof req.query.user === 'string' ? req.query.user : undefined;
  const { status, body } = greet(user);
  res.status(status).type('text').send(body);
});
app.get('/status/:code', (req, res) => {
  const code = parseStatusCode(req.params.code);
  if (code === null) {
    res.status(400).type('text').send('invalid status code\n');
    return;
  }
  res
    .status(code)
    .type('text')
    .send(statusAllowsBody(code) ? `${code}\n` : undefined);
});
app.get('/delay/:ms', async (req, res) => {
  const ms = parseDelayMs(req.params.ms);
  if (ms === null) {
    res.status(400).type('text').send('invalid delay\n');
    return;
  }
  await sleep(ms);
  res.type('text').send(`waited ${ms} ms\n`);
});

exitOnSigterm();
const { port, host } = readListenOptions();
const server = app.listen(port, host, () => {
  announceListening('express-prom-bundle', (server.address() as AddressInfo).port);
});
