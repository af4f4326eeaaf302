// Minimal HTTP GET for the runner's own requests (readiness polls, seeding, scrapes).
import { request } from 'node:http';
import type { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';

/** Outcome of one GET: status, body bytes, and milliseconds from send to last byte. */
export interface GetResult {
  status: number;
  body: string;
  bytes: number;
  elapsedMs: number;
}

/** Sends GET (or another method) and reads the whole body. Rejects on socket errors. */
export function httpGet(
  url: string,
  options: { agent?: Agent; method?: string; timeoutMs?: number } = {},
): Promise<GetResult> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            body: body.toString('utf8'),
            bytes: body.length,
            elapsedMs: performance.now() - start,
          });
        });
      },
    );
    req.setTimeout(options.timeoutMs ?? 5_000, () => {
      req.destroy(new Error(`GET ${url} timed out after ${options.timeoutMs ?? 5_000} ms`));
    });
    req.on('error', reject);
    req.end();
  });
}
