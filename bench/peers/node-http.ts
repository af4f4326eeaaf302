// The floor: plain node:http with no framework, no metrics and no access log.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const segments = url.pathname.split('/');

  if (url.pathname === '/healthz') {
    send(res, 200, 'ok\n');
    return;
  }
  if (url.pathname === '/hello') {
    const { status, body } = greet(url.searchParams.get('user'));
    send(res, status, body);
    return;
  }
  if (segments.length === 3 && segments[1] === 'status') {
    const code = parseStatusCode(segments[2] ?? '');
    if (code === null) send(res, 400, 'invalid status code\n');
    else send(res, code, statusAllowsBody(code) ? `${code}\n` : '');
    return;
  }
  if (segments.length === 3 && segments[1] === 'delay') {
    const ms = parseDelayMs(segments[2] ?? '');
    if (ms === null) {
      send(res, 400, 'invalid delay\n');
      return;
    }
    await sleep(ms);
    send(res, 200, `waited ${ms} ms\n`);
    return;
  }
  send(res, 404, 'not found\n');
}

exitOnSigterm();
const { port, host } = readListenOptions();
const server = createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    process.stderr.write(`request failed: ${String(error)}\n`);
    if (!res.headersSent) send(res, 500, 'internal error\n');
  });
});
server.listen(port, host, () => {
  announceListening('node-http', (server.address() as AddressInfo).port);
});
