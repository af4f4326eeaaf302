// Load generator for the concurrency check, run as its own process by concurrency.ts.
// It opens COUNT TCP connections first, then writes one GET on each in the same tick, so all
// requests are in flight together, and prints one JSON line with the outcome.
//
// Usage: node bench/concurrency-client.ts --url http://127.0.0.1:PORT/hello?user=c
//          [--count 10000] [--connect-batch 500] [--timeout-ms 60000]
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { quantile } from './stats.ts';

/** Outcome printed as JSON on stdout. */
export interface ConcurrencyOutcome {
  count: number;
  connected: number;
  ok: number;
  /** Responses with a status other than 200, keyed by status. */
  otherStatuses: Record<string, number>;
  /** Socket errors keyed by error code, plus "timeout" and "no-response". */
  errors: Record<string, number>;
  connectMs: number;
  totalMs: number;
  latencyMs: { p50: number; p99: number; max: number };
}

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    count: { type: 'string', default: '10000' },
    'connect-batch': { type: 'string', default: '500' },
    'timeout-ms': { type: 'string', default: '60000' },
  },
});
if (values.url === undefined)
  throw new Error('missing --url (for example http://127.0.0.1:8080/hello)');
const target = new URL(values.url);
const count = Number(values.count);
const connectBatch = Number(values['connect-batch']);
const timeoutMs = Number(values['timeout-ms']);

const outcome: ConcurrencyOutcome = {
  count,
  connected: 0,
  ok: 0,
  otherStatuses: {},
  errors: {},
  connectMs: 0,
  totalMs: 0,
  latencyMs: { p50: 0, p99: 0, max: 0 },
};

function countError(code: string): void {
  outcome.errors[code] = (outcome.errors[code] ?? 0) + 1;
}

function openSocket(): Promise<Socket | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.hostname, port: Number(target.port) });
    socket.once('connect', () => resolve(socket));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      countError(`connect ${error.code ?? error.message}`);
      resolve(null);
    });
  });
}

// Phase 1: open every connection, BATCH at a time so the listen backlog is not overrun.
const startedAt = performance.now();
const sockets: Socket[] = [];
for (let opened = 0; opened < count; opened += connectBatch) {
  const batchSize = Math.min(connectBatch, count - opened);
  const batch = await Promise.all(Array.from({ length: batchSize }, openSocket));
  for (const socket of batch) if (socket) sockets.push(socket);
}
outcome.connected = sockets.length;
outcome.connectMs = performance.now() - startedAt;

// Phase 2: one request per connection, all written before any response is read.
const request =
  `GET ${target.pathname}${target.search} HTTP/1.1\r\n` +
  `Host: ${target.host}\r\nUser-Agent: bench-concurrency\r\nConnection: close\r\n\r\n`;
const latenciesMs: number[] = [];
const sentAt = performance.now();
const responses = sockets.map(
  (socket) =>
    new Promise<void>((resolve) => {
      const chunks: Buffer[] = [];
      let failed = false;
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', (error: NodeJS.ErrnoException) => {
        failed = true;
        countError(error.code ?? error.message);
      });
      socket.on('close', () => {
        const head = Buffer.concat(chunks).subarray(0, 16).toString('latin1');
        const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
        if (status === '200') {
          outcome.ok++;
          latenciesMs.push(performance.now() - sentAt);
        } else if (status !== undefined) {
          outcome.otherStatuses[status] = (outcome.otherStatuses[status] ?? 0) + 1;
        } else if (!failed) {
          countError('no-response');
        }
        resolve();
      });
      socket.write(request);
    }),
);

const timer = setTimeout(() => {
  for (const socket of sockets) {
    if (!socket.destroyed) {
      socket.destroy(
        Object.assign(new Error(`no response within ${timeoutMs} ms`), { code: 'timeout' }),
      );
    }
  }
}, timeoutMs);
await Promise.all(responses);
clearTimeout(timer);

outcome.totalMs = performance.now() - startedAt;
outcome.latencyMs = {
  p50: quantile(latenciesMs, 0.5),
  p99: quantile(latenciesMs, 0.99),
  max: latenciesMs.length === 0 ? 0 : Math.max(...latenciesMs),
};
process.stdout.write(`${JSON.stringify(outcome)}\n`);
