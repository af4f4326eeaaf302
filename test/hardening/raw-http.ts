import { connect, type Socket } from 'node:net';

/** One HTTP/1.x response parsed from raw bytes, header names lowercased and kept in order. */
export interface RawResponse {
  readonly status: number;
  readonly statusLine: string;
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>;
  readonly body: string;
}

/** Everything the server sent on one connection, and how the connection ended. */
export interface RawExchange {
  readonly responses: RawResponse[];
  /** The bytes received, as Latin-1 text so every byte maps to one character. */
  readonly raw: string;
  /** `closed` when the server ended the connection, `reset` on ECONNRESET, `timeout` when we gave up. */
  readonly ending: 'closed' | 'reset' | 'timeout';
}

export interface RawRequestOptions {
  /** Gives up and destroys the socket after this long; default 5000 ms. */
  readonly timeoutMs?: number;
  /** Stops waiting once this many complete responses have arrived; default: wait for close. */
  readonly responses?: number;
  /** Delay between the chunks of `payload` when it is an array, in milliseconds. */
  readonly chunkIntervalMs?: number;
}

/** Decodes a body received as Latin-1 text (one character a byte) as UTF-8. */
export function utf8(latin1: string): string {
  return Buffer.from(latin1, 'latin1').toString('utf8');
}

/** Returns the value of the first header with this lowercase name. */
export function header(response: RawResponse, name: string): string | undefined {
  return response.headers.find(([field]) => field === name)?.[1];
}

/** Returns every value of the headers with this lowercase name. */
export function headerValues(response: RawResponse, name: string): string[] {
  return response.headers.filter(([field]) => field === name).map(([, value]) => value);
}

/**
 * Parses as many complete responses as the text holds. A response without Content-Length or
 * chunked framing runs to the end of the text, as HTTP/1.1 defines close-delimited bodies.
 */
export function parseResponses(text: string, headRequest = false): RawResponse[] {
  const responses: RawResponse[] = [];
  let offset = 0;

  while (offset < text.length) {
    const headEnd = text.indexOf('\r\n\r\n', offset);
    if (headEnd === -1) break;

    const [statusLine = '', ...lines] = text.slice(offset, headEnd).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN);
    const headers = lines.map((line): readonly [string, string] => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
    });
    const response = { status, statusLine, headers, body: '' };
    let bodyStart = headEnd + 4;

    const length = headers.find(([name]) => name === 'content-length')?.[1];
    const chunked = headers.some(
      ([name, value]) => name === 'transfer-encoding' && /chunked/i.test(value),
    );
    const noBody = headRequest || status === 204 || status === 304 || status < 200;

    if (noBody) {
      // Nothing follows the head.
    } else if (chunked) {
      let body = '';
      for (;;) {
        const lineEnd = text.indexOf('\r\n', bodyStart);
        if (lineEnd === -1) return responses;
        const size = Number.parseInt(text.slice(bodyStart, lineEnd), 16);
        if (Number.isNaN(size)) return responses;
        if (size === 0) {
          const trailerEnd = text.indexOf('\r\n', lineEnd + 2);
          if (trailerEnd === -1) return responses;
          bodyStart = trailerEnd + 2;
          break;
        }
        if (lineEnd + 2 + size + 2 > text.length) return responses;
        body += text.slice(lineEnd + 2, lineEnd + 2 + size);
        bodyStart = lineEnd + 2 + size + 2;
      }
      response.body = body;
    } else if (length !== undefined) {
      const end = bodyStart + Number(length);
      if (end > text.length) break;
      response.body = text.slice(bodyStart, end);
      bodyStart = end;
    } else {
      response.body = text.slice(bodyStart);
      bodyStart = text.length;
    }

    responses.push(response);
    offset = bodyStart;
  }
  return responses;
}

/** Opens a TCP connection to 127.0.0.1:port and resolves once it is established. */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * Sends raw bytes on a new connection and collects everything the server sends back until it
 * closes the connection, the expected number of responses has arrived, or the timeout passes.
 * An array payload is sent as separate writes, `chunkIntervalMs` apart.
 */
export async function rawRequest(
  port: number,
  payload: string | Buffer | ReadonlyArray<string | Buffer>,
  options: RawRequestOptions = {},
): Promise<RawExchange> {
  const socket = await openSocket(port);
  const chunks: Buffer[] = [];
  const headRequest = typeof payload === 'string' ? payload.startsWith('HEAD ') : false;

  return new Promise((resolve) => {
    let settled = false;
    let pacing: NodeJS.Timeout | undefined;

    const finish = (ending: RawExchange['ending']): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(pacing);
      socket.destroy();
      const raw = Buffer.concat(chunks).toString('latin1');
      resolve({ responses: parseResponses(raw, headRequest), raw, ending });
    };
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs ?? 5_000);

    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const wanted = options.responses;
      if (wanted === undefined) return;
      const raw = Buffer.concat(chunks).toString('latin1');
      if (parseResponses(raw, headRequest).length >= wanted) finish('closed');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      finish(error.code === 'ECONNRESET' ? 'reset' : 'closed');
    });
    socket.on('close', () => finish('closed'));

    if (typeof payload === 'string' || Buffer.isBuffer(payload)) {
      socket.write(payload);
      return;
    }
    const parts = [...payload];
    const writeNext = (): void => {
      const part = parts.shift();
      if (part === undefined || settled) return;
      socket.write(part);
      pacing = setTimeout(writeNext, options.chunkIntervalMs ?? 0);
    };
    writeNext();
  });
}
