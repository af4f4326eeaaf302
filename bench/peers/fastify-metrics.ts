// Fastify with fastify-metrics (its defaults: route histogram and summary, plus
// prom-client's default metrics) and one access log line per request through Fastify's
// own pino logger. Fastify's two built-in request lines are off so the count matches.
import fastify, { LogController } from 'fastify';
// fastify-metrics is CommonJS with `exports.default`, so an ES default import gets the module.
import fastifyMetrics from 'fastify-metrics';
import { pino } from 'pino';

import { logRequest } from './access-log.ts';
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

const app = fastify({
  logger: {
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  },
  logController: new LogController({ disableRequestLogging: true }),
});
await app.register(fastifyMetrics.default, { endpoint: '/metrics' });

app.addHook('onResponse', (request, reply, done) => {
  logRequest(request.log, {
    method: request.method,
    route: request.routeOptions.url ?? 'unmatched',
    path: request.url,
    status: reply.statusCode,
    durationMs: reply.elapsedTime,
    userAgent: request.headers['user-agent'],
  });
  done();
});

app.get('/healthz', (_request, reply) => reply.send('ok\n'));
app.get<{ Querystring: { user?: string } }>('/hello', async (request, reply) => {
  const { status, body } = greet(request.query.user);
  return reply.code(status).send(body);
});
app.get<{ Params: { code: string } }>('/status/:code', async (request, reply) => {
  const code = parseStatusCode(request.params.code);
  if (code === null) return reply.code(400).send('invalid status code\n');
  return reply.code(code).send(statusAllowsBody(code) ? `${code}\n` : undefined);
});
app.get<{ Params: { ms: string } }>('/delay/:ms', async (request, reply) => {
  const ms = parseDelayMs(request.params.ms);
  if (ms === null) return reply.code(400).send('invalid delay\n');
  await sleep(ms);
  return `waited ${ms} ms\n`;
});

exitOnSigterm();
const { port, host } = readListenOptions();
await app.listen({ port, host });
const address = app.server.address();
announceListening('fastify-metrics', typeof address === 'object' && address ? address.port : port);
