import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startService, stopAllServices, type RunningService } from '../support/process.ts';
import { requestSeries, seriesOutsideVocabulary } from './metric-series.ts';
import { header, headerValues, rawRequest, utf8, type RawExchange } from './raw-http.ts';

/** One malformed or unusual request and the exact response expected for it. */
interface BadInputCase {
  readonly name: string;
  readonly payload: string | Buffer;
  /** Statuses of the responses in arrival order; one entry per response. */
  readonly statuses: readonly number[];
  /** Set when the server rightly keeps the connection open after the last response. */
  readonly keepsConnection?: boolean;
  readonly check?: (exchange: RawExchange) => void;
}

const VERSION = 'hardening-1';
const HOST = 'Host: example.test';
const CLOSE = [HOST, 'Connection: close'];

function message(requestLine: string, headers: readonly string[], body = ''): string {
  return `${requestLine}\r\n${headers.map((field) => `${field}\r\n`).join('')}\r\n${body}`;
}

function get(target: string, extraHeaders: readonly string[] = []): string {
  return message(`GET ${target} HTTP/1.1`, [...CLOSE, ...extraHeaders]);
}

/** Joins text (as Latin-1, one byte per character) and raw byte values into one payload. */
function bytes(...parts: ReadonlyArray<string | readonly number[]>): Buffer {
  return Buffer.concat(
    parts.map((part) =>
      typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part),
    ),
  );
}

function bodyOf(exchange: RawExchange, index = 0): string {
  return exchange.responses[index]?.body ?? '';
}

function errorCode(exchange: RawExchange, index = 0): unknown {
  return (JSON.parse(bodyOf(exchange, index)) as { code?: unknown }).code;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const CASES: readonly BadInputCase[] = [
  // Malformed percent-encoding: routing never matches, parameters stay as typed.
  { name: 'invalid escape in path', payload: get('/%zz'), statuses: [404] },
  { name: 'invalid escape after route', payload: get('/hello%zz'), statuses: [404] },
  { name: 'truncated escape in path', payload: get('/hello%'), statuses: [404] },
  {
    name: 'invalid escape in user',
    payload: get('/hello?user=%zz'),
    statuses: [200],
    check: (exchange) => expect(bodyOf(exchange)).toMatch(/^hello \[%zz\]\n/),
  },
  {
    name: 'lone percent in user',
    payload: get('/hello?user=%'),
    statuses: [200],
    check: (exchange) => expect(bodyOf(exchange)).toMatch(/^hello \[%\]\n/),
  },
  {
    name: 'escaped invalid UTF-8 in user',
    payload: get('/hello?user=%E0%A4'),
    statuses: [200],
    check: (exchange) => expect(bodyOf(exchange)).toMatch(/^hello \[%E0%A4\]\n/),
  },
  {
    name: 'escaped 0xFF bytes in user',
    payload: get('/hello?user=%FF%FE'),
    statuses: [200],
    check: (exchange) => expect(bodyOf(exchange)).toMatch(/^hello \[%FF%FE\]\n/),
  },
  { name: 'invalid escape as status code', payload: get('/status/%3'), statuses: [400] },
  { name: 'escaped digits as status code', payload: get('/status/%32%30%34'), statuses: [204] },
  { name: 'invalid escape as delay', payload: get('/delay/%ff'), statuses: [400] },
  { name: 'escaped dot segments', payload: get('/%2e%2e/%2e%2e/etc/passwd'), statuses: [404] },
  { name: 'dot segments', payload: get('/../../etc/passwd'), statuses: [404] },
  { name: 'double slash', payload: get('//hello'), statuses: [404] },
  {
    name: 'backslash in path',
    payload: get('/hello\\..\\metrics'),
    statuses: [400],
    check: (exchange) => expect(errorCode(exchange)).toBe('bad_request'),
  },

  // Invalid UTF-8 sent raw: the parser accepts no bytes above 0x7F in the target.
  {
    name: 'raw 0xFF in query',
    payload: bytes('GET /hello?user=', [0xff, 0xfe], ' HTTP/1.1\r\nHost: x\r\n\r\n'),
    statuses: [400],
  },
  {
    name: 'raw truncated UTF-8 in path',
    payload: bytes('GET /', [0xc3, 0x28], ' HTTP/1.1\r\nHost: x\r\n\r\n'),
    statuses: [400],
  },
  {
    name: 'Latin-1 bytes in a header',
    payload: bytes(
      'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Name: ',
      [0xe9, 0xff],
      '\r\n\r\n',
    ),
    statuses: [200],
    check: (exchange) => expect(header(exchange.responses[0]!, 'x-name')).toBe('\u00e9\u00ff'),
  },
  {
    name: 'UTF-8 in a header',
    payload: Buffer.from(get('/', ['X-Name: h\u00e9llo \u2713']), 'utf8'),
    statuses: [200],
    // Node reads header bytes as Latin-1; the echo sends the same bytes back.
    check: (exchange) =>
      expect(utf8(header(exchange.responses[0]!, 'x-name') ?? '')).toBe('h\u00e9llo \u2713'),
  },

  // NUL bytes and other control characters.
  {
    name: 'raw NUL in query',
    payload: bytes('GET /hello?user=a', [0], ' HTTP/1.1\r\nHost: x\r\n\r\n'),
    statuses: [400],
  },
  {
    name: 'escaped NUL in user',
    payload: get('/hello?user=a%00b'),
    statuses: [400],
    check: (exchange) => expect(errorCode(exchange)).toBe('bad_request'),
  },
  { name: 'escaped NUL in path', payload: get('/%00'), statuses: [404] },
  {
    name: 'NUL in header value',
    payload: bytes('GET / HTTP/1.1\r\nHost: x\r\nX-A: a', [0], 'b\r\n\r\n'),
    statuses: [400],
  },
  {
    name: 'NUL in header name',
    payload: bytes('GET / HTTP/1.1\r\nHost: x\r\nX', [0], 'A: b\r\n\r\n'),
    statuses: [400],
  },
  { name: 'control byte in header', payload: get('/', ['X-A: a\u0001b']), statuses: [400] },

  // Sizes: requests over Node's 16 KB header limit get 431.
  { name: '100 KB query string', payload: get(`/hello?x=${'y'.repeat(100_000)}`), statuses: [431] },
  { name: '100 KB path', payload: get(`/${'p'.repeat(100_000)}`), statuses: [431] },
  {
    name: '20 KB header value',
    payload: get('/', [`X-Big: ${'b'.repeat(20_000)}`]),
    statuses: [431],
  },
  {
    name: '3000 headers',
    payload: get(
      '/',
      Array.from({ length: 3_000 }, (_, i) => `X-H${i}: v`),
    ),
    statuses: [431],
  },
  {
    name: '100 headers',
    payload: get(
      '/',
      Array.from({ length: 100 }, (_, i) => `X-H${i}: v${i}`),
    ),
    statuses: [200],
    check: (exchange) => expect(header(exchange.responses[0]!, 'x-h99')).toBe('v99'),
  },
  {
    name: 'user of 256 characters',
    payload: get(`/hello?user=${'u'.repeat(256)}`),
    statuses: [200],
  },
  {
    name: 'user of 257 characters',
    payload: get(`/hello?user=${'u'.repeat(257)}`),
    statuses: [400],
  },
  { name: 'delay of 20 digits', payload: get(`/delay/${'9'.repeat(20)}`), statuses: [400] },

  // Host: exactly one, and a value that names a host.
  {
    name: 'duplicate Host',
    payload: message('GET /hello HTTP/1.1', ['Host: a.test', 'Host: b.test', 'Connection: close']),
    statuses: [400],
    check: (exchange) => expect(errorCode(exchange)).toBe('duplicate_host'),
  },
  {
    name: 'HTTP/1.1 without Host',
    payload: message('GET /hello HTTP/1.1', ['Connection: close']),
    statuses: [400],
    check: (exchange) => expect(errorCode(exchange)).toBe('missing_host'),
  },
  {
    name: 'HTTP/1.0 without Host',
    payload: message('GET /hello?user=old HTTP/1.0', []),
    statuses: [200],
    check: (exchange) => expect(bodyOf(exchange)).toMatch(/^hello \[old\]\n/),
  },
  {
    name: 'Host with a space',
    payload: message('GET / HTTP/1.1', ['Host: a b', 'Connection: close']),
    statuses: [400],
  },
  {
    name: 'Host with user info',
    payload: message('GET / HTTP/1.1', ['Host: user@evil.test', 'Connection: close']),
    statuses: [400],
  },
  {
    name: 'Host as IPv6 literal',
    payload: message('GET /healthz HTTP/1.1', ['Host: [::1]:8080', 'Connection: close']),
    statuses: [200],
  },
  {
    name: 'empty Host',
    payload: message('GET /healthz HTTP/1.1', ['Host:', 'Connection: close']),
    statuses: [200],
  },

  // CR/LF injection attempts: decoded control characters in user, raw ones in headers.
  {
    name: 'CRLF header injection in user',
    payload: get('/hello?user=a%0d%0aSet-Cookie:%20stolen=1'),
    statuses: [400],
    check: (exchange) => expect(headerValues(exchange.responses[0]!, 'set-cookie')).toEqual([]),
  },
  { name: 'LF in user', payload: get('/hello?user=a%0ab'), statuses: [400] },
  { name: 'tab in user', payload: get('/hello?user=%09'), statuses: [400] },
  {
    name: 'line separator in user',
    payload: get('/hello?user=a%E2%80%A8b'),
    statuses: [200],
    check: (exchange) => expect(utf8(bodyOf(exchange))).toMatch(/^hello \[a\u2028b\]\n/),
  },
  {
    name: 'bare CR in header value',
    payload: get('/', ['X-A: a\rSet-Cookie: b']),
    statuses: [400],
  },
  { name: 'obsolete line folding', payload: get('/', ['X-A: a', ' folded']), statuses: [400] },
  { name: 'bare LF line endings', payload: 'GET / HTTP/1.1\nHost: x\n\n', statuses: [400] },
  {
    name: 'unsafe X-Request-Id',
    payload: get('/hello', ['X-Request-Id: a"b\tc']),
    statuses: [200],
    check: (exchange) => expect(header(exchange.responses[0]!, 'x-request-id')).toMatch(UUID),
  },

  // user as an array is rejected by design.
  { name: 'user twice', payload: get('/hello?user=a&user=b'), statuses: [400] },
  { name: 'user twice, one empty', payload: get('/hello?user=a&user='), statuses: [400] },
  {
    name: 'user with brackets',
    payload: get('/hello?user[]=a'),
    statuses: [200],
    check: (exchange) => expect(bodyOf(exchange)).toMatch(/^hello \[stranger\]\n/),
  },

  // Methods.
  { name: 'unknown method', payload: message('FOOBAR / HTTP/1.1', CLOSE), statuses: [400] },
  { name: 'method with a symbol', payload: message('G@T / HTTP/1.1', CLOSE), statuses: [400] },
  { name: 'lowercase method', payload: message('get / HTTP/1.1', CLOSE), statuses: [400] },
  {
    name: '200-letter method',
    payload: message(`${'A'.repeat(200)} / HTTP/1.1`, CLOSE),
    statuses: [400],
  },
  {
    name: 'PROPFIND on a route',
    payload: message('PROPFIND / HTTP/1.1', CLOSE),
    statuses: [405],
    check: (exchange) => expect(header(exchange.responses[0]!, 'allow')).toBe('GET, HEAD'),
  },
  { name: 'TRACE on a route', payload: message('TRACE / HTTP/1.1', CLOSE), statuses: [405] },
  { name: 'DELETE on /hello', payload: message('DELETE /hello HTTP/1.1', CLOSE), statuses: [405] },
  {
    name: 'POST on an unknown path',
    payload: message('POST /nope HTTP/1.1', CLOSE),
    statuses: [404],
  },
  {
    name: 'CONNECT',
    payload: message('CONNECT example.test:443 HTTP/1.1', ['Host: example.test:443']),
    statuses: [405],
    check: (exchange) => expect(header(exchange.responses[0]!, 'allow')).toBe('GET, HEAD'),
  },
  {
    name: 'OPTIONS on a route',
    payload: message('OPTIONS /hello HTTP/1.1', CLOSE),
    statuses: [204],
    check: (exchange) => expect(header(exchange.responses[0]!, 'allow')).toBe('GET, HEAD'),
  },
  {
    name: 'OPTIONS *',
    payload: message('OPTIONS * HTTP/1.1', CLOSE),
    statuses: [204],
    keepsConnection: true,
    check: (exchange) => expect(header(exchange.responses[0]!, 'allow')).toBe('GET, HEAD'),
  },
  {
    name: 'GET *',
    payload: message('GET * HTTP/1.1', CLOSE),
    statuses: [400],
    check: (exchange) => expect(errorCode(exchange)).toBe('invalid_target'),
  },
  {
    name: 'HEAD on /hello',
    payload: message('HEAD /hello HTTP/1.1', CLOSE),
    statuses: [200],
    check: (exchange) => expect(bodyOf(exchange)).toBe(''),
  },

  // Request-target forms other than origin-form.
  {
    name: 'absolute-form http target',
    payload: get('http://other.test/hello?user=z'),
    statuses: [200],
    check: (exchange) => expect(bodyOf(exchange)).toMatch(/^hello \[z\]\n/),
  },
  { name: 'absolute-form https target', payload: get('https://other.test/'), statuses: [200] },
  { name: 'absolute-form ftp target', payload: get('ftp://other.test/'), statuses: [400] },
  { name: 'authority-form on GET', payload: get('example.test:80'), statuses: [400] },
  { name: 'empty target', payload: message('GET  HTTP/1.1', CLOSE), statuses: [400] },
  { name: 'space in target', payload: message('GET /a b HTTP/1.1', CLOSE), statuses: [400] },
  {
    name: 'fragment in target',
    payload: get('/hello#frag'),
    statuses: [200],
    check: (exchange) => expect(bodyOf(exchange)).toMatch(/^hello \[stranger\]\n/),
  },

  // Expect.
  {
    name: 'Expect 100-continue with a body',
    payload: message(
      'GET /hello HTTP/1.1',
      [...CLOSE, 'Expect: 100-continue', 'Content-Length: 3'],
      'abc',
    ),
    statuses: [100, 200],
  },
  {
    name: 'unknown Expect value',
    payload: get('/hello', ['Expect: teapot']),
    statuses: [417],
    check: (exchange) => expect(errorCode(exchange)).toBe('expectation_failed'),
  },

  // Request bodies on GET: served, then the connection closes even when the client
  // asked for keep-alive, so a body that never ends cannot hold it.
  {
    name: 'GET with a small body',
    payload: message('GET /hello HTTP/1.1', [HOST, 'Content-Length: 3'], 'abc'),
    statuses: [200],
  },
  {
    name: 'GET with a chunked body',
    payload: message(
      'GET /hello HTTP/1.1',
      [HOST, 'Transfer-Encoding: chunked'],
      '3\r\nabc\r\n0\r\n\r\n',
    ),
    statuses: [200],
  },
  {
    name: 'GET with a chunked body that never ends',
    payload: message('GET /hello HTTP/1.1', [HOST, 'Transfer-Encoding: chunked'], '5\r\nhello\r\n'),
    statuses: [200],
    check: (exchange) => expect(header(exchange.responses[0]!, 'connection')).toBe('close'),
  },
  {
    name: 'GET with a body shorter than Content-Length',
    payload: message('GET /hello HTTP/1.1', [HOST, 'Content-Length: 100'], 'ab'),
    statuses: [200],
  },
  {
    name: 'POST with a chunked body that never ends',
    payload: message(
      'POST /hello HTTP/1.1',
      [HOST, 'Transfer-Encoding: chunked'],
      '5\r\nhello\r\n',
    ),
    statuses: [405],
  },

  // Framing that request smuggling relies on.
  {
    name: 'Content-Length with Transfer-Encoding',
    payload: message(
      'POST / HTTP/1.1',
      [...CLOSE, 'Content-Length: 3', 'Transfer-Encoding: chunked'],
      '0\r\n\r\n',
    ),
    statuses: [400],
  },
  {
    name: 'two different Content-Length',
    payload: message(
      'POST / HTTP/1.1',
      [...CLOSE, 'Content-Length: 3', 'Content-Length: 4'],
      'abcd',
    ),
    statuses: [400],
  },
  {
    name: 'negative Content-Length',
    payload: message('POST / HTTP/1.1', [...CLOSE, 'Content-Length: -1']),
    statuses: [400],
  },

  // Protocol versions and other protocols.
  {
    name: 'HTTP/1.0 with Host',
    payload: message('GET /healthz HTTP/1.0', [HOST]),
    statuses: [200],
  },
  {
    name: 'HTTP/2.0 request line',
    payload: get('/').replace('HTTP/1.1', 'HTTP/2.0'),
    statuses: [505],
  },
  {
    name: 'HTTP/9.9 request line',
    payload: get('/').replace('HTTP/1.1', 'HTTP/9.9'),
    statuses: [400],
  },
  { name: 'request line without version', payload: 'GET /\r\n\r\n', statuses: [505] },
  {
    name: 'HTTP/2 connection preface',
    payload: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    statuses: [400],
  },
  {
    name: 'TLS ClientHello',
    payload: bytes([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]),
    statuses: [400],
  },
  {
    name: 'WebSocket upgrade',
    payload: message('GET / HTTP/1.1', [HOST, 'Upgrade: websocket', 'Connection: Upgrade']),
    statuses: [200],
    keepsConnection: true,
    check: (exchange) => expect(headerValues(exchange.responses[0]!, 'upgrade')).toEqual([]),
  },

  // Pipelining: responses in order, and a bad request never overtakes the good ones ahead.
  {
    name: 'three pipelined requests',
    payload:
      message('GET /hello?user=1 HTTP/1.1', [HOST]) +
      message('GET /hello?user=2 HTTP/1.1', [HOST]) +
      get('/hello?user=3'),
    statuses: [200, 200, 200],
    check: (exchange) =>
      expect(exchange.responses.map((response) => response.body.split('\n')[0])).toEqual([
        'hello [1]',
        'hello [2]',
        'hello [3]',
      ]),
  },
  {
    name: 'pipelined request, then garbage',
    payload: message('GET /delay/200 HTTP/1.1', [HOST]) + 'GARBAGE\r\n\r\n',
    statuses: [200, 400],
  },
  {
    name: 'pipelined request, then a huge header',
    payload:
      message('GET /delay/200 HTTP/1.1', [HOST]) + get('/', [`X-Big: ${'b'.repeat(20_000)}`]),
    statuses: [200, 431],
  },
  {
    name: 'pipelined request, then OPTIONS *',
    payload: message('GET /version HTTP/1.1', [HOST]) + message('OPTIONS * HTTP/1.1', CLOSE),
    statuses: [200, 204],
    keepsConnection: true,
  },

  // Headers the service reads but must not trust blindly.
  {
    name: 'malformed X-Forwarded-For',
    payload: get('/hello', ['X-Forwarded-For: zz, 1.2.3.4, ::1']),
    statuses: [200],
  },
  {
    name: 'malformed traceparent',
    payload: get('/hello', ['traceparent: 00-zz-yy-01']),
    statuses: [200],
  },
];

let service: RunningService;
let seriesBefore: Set<string>;
const statusesSeen = new Set<number>();

beforeAll(async () => {
  service = await startService({ env: { DELAY_MAX_MS: '0', VERSION } });
  seriesBefore = await requestSeries(service.url);
});
afterAll(stopAllServices);

describe('bad input over raw TCP', () => {
  it('has at least 60 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(60);
  });

  it.each(CASES)('$name', async (testCase) => {
    const exchange = await rawRequest(service.port, testCase.payload, {
      timeoutMs: 5_000,
      ...(testCase.keepsConnection ? { responses: testCase.statuses.length } : {}),
    });

    expect(exchange.responses.map((response) => response.status)).toEqual(testCase.statuses);
    // Server closed the connection itself, cleanly, rather than leaving it hanging or resetting.
    if (!testCase.keepsConnection) expect(exchange.ending).toBe('closed');
    for (const response of exchange.responses) {
      statusesSeen.add(response.status);
      if (response.status !== 100) expect(header(response, 'version')).toBe(VERSION);
      expect(headerValues(response, 'content-length').length).toBeLessThanOrEqual(1);
    }
    testCase.check?.(exchange);
  });

  it('leaves the service running with clean output', async () => {
    const health = await fetch(`${service.url}/healthz`);
    expect(health.status).toBe(200);
    expect(service.child.exitCode).toBeNull();

    expect(service.nonJsonLines()).toEqual([]);
    expect(service.stderr()).toBe('');
    const levels = new Set(service.logs().map((line) => line.level));
    expect([...levels].every((level) => ['info', 'warn'].includes(String(level)))).toBe(true);
  });

  it('adds no series outside the fixed label values', async () => {
    const after = await requestSeries(service.url);
    const added = [...after].filter((series) => !seriesBefore.has(series));

    expect(added.length).toBeGreaterThan(0);
    expect(seriesOutsideVocabulary(added, statusesSeen)).toEqual([]);
  });
});
