/** Client-side load helpers for the Prometheus tests. */
import { Agent, get } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export { quantileOf } from '../../src/cli/latency-report.ts';

export interface LoadOptions {
  /** Number of GET requests to send. */
  count: number;
  /** Time over which the request starts are spread evenly, in ms. @default 0 (all at once) */
  rampMs?: number;
  /** Maximum time for one request, in ms. @default 15000 */
  timeoutMs?: number;
  /** Agent whose open keep-alive connections to reuse. @default a new connection per request */
  agent?: Agent;
}

export interface LoadResult {
  /** Latency of each request from send to end of body, in seconds, in completion order. */
  latenciesS: number[];
  statuses: number[];
  /** Maximum number of requests in flight at the same moment. */
  peakInFlight: number;
}

/**
 * Sends `options.count` GET requests to `url` and waits for all of them. Latency runs from
 * the call to http.get until the body has been read.
 */
export async function sendRequests(url: string, options: LoadOptions): Promise<LoadResult> {
  const { count, rampMs = 0, timeoutMs = 15_000 } = options;
  const agent = options.agent ?? new Agent({ keepAlive: false, maxSockets: Infinity });
  const result: LoadResult = { latenciesS: [], statuses: [], peakInFlight: 0 };
  let inFlight = 0;

  function sendOne(): Promise<void> {
    return new Promise((resolve, reject) => {
      const startedAt = performance.now();
      inFlight += 1;
      result.peakInFlight = Math.max(result.peakInFlight, inFlight);
      const request = get(url, { agent, timeout: timeoutMs }, (response) => {
        response.resume();
        response.on('end', () => {
          inFlight -= 1;
          result.latenciesS.push((performance.now() - startedAt) / 1000);
          result.statuses.push(response.statusCode ?? 0);
          resolve();
        });
        response.on('error', reject);
      });
      request.on('timeout', () =>
        request.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)),
      );
      request.on('error', reject);
    });
  }

  const startedAt = performance.now();
  const requests: Promise<void>[] = [];
  for (let index = 0; index < count; index += 1) {
    const wait = startedAt + (index * rampMs) / count - performance.now();
    if (wait >= 1) await sleep(wait);
    requests.push(sendOne());
  }
  try {
    await Promise.all(requests);
  } finally {
    if (options.agent === undefined) agent.destroy();
  }
  return result;
}
