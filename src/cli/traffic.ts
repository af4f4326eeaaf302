/** A closed-loop /hello load for the demo: a fixed number of workers, bounded in time and count. */

export interface TrafficOptions {
  /** URL each worker requests in a loop. */
  url: string;
  /** Number of concurrent workers, each with one request in flight. */
  concurrency: number;
  /** Time after which no new request starts, in ms. */
  durationMs: number;
  /** Maximum number of requests in total. */
  maxRequests: number;
  /** Maximum time for one request, in ms. */
  requestTimeoutMs: number;
  /** Stops the load early, for example on Ctrl-C. */
  signal: AbortSignal;
  /** Called after each response with the running totals. */
  onProgress?: (progress: TrafficProgress) => void;
}

export interface TrafficProgress {
  elapsedMs: number;
  completed: number;
  failed: number;
}

export interface TrafficResult extends TrafficProgress {
  /** Client-side latency of each successful request, in seconds. */
  latenciesS: number[];
}

/**
 * Runs `concurrency` workers that request `url` one after another until the duration, the
 * request count or the signal ends the load. A failed request counts in `failed` and the
 * worker goes on; an aborted one ends its worker.
 */
export async function runTraffic(options: TrafficOptions): Promise<TrafficResult> {
  const startedAt = performance.now();
  const deadline = startedAt + options.durationMs;
  const result: TrafficResult = { elapsedMs: 0, completed: 0, failed: 0, latenciesS: [] };
  let started = 0;

  async function worker(): Promise<void> {
    while (
      !options.signal.aborted &&
      performance.now() < deadline &&
      started < options.maxRequests
    ) {
      started += 1;
      const requestStartedAt = performance.now();
      try {
        const response = await fetch(options.url, {
          signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.requestTimeoutMs)]),
        });
        await response.arrayBuffer();
        if (response.ok) {
          result.completed += 1;
          result.latenciesS.push((performance.now() - requestStartedAt) / 1000);
        } else {
          result.failed += 1;
        }
      } catch (error) {
        if (options.signal.aborted) return;
        result.failed += 1;
        if ((error as Error).name !== 'TimeoutError') {
          // Connection refused or reset: wait a little so a dead service is not hammered.
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      result.elapsedMs = performance.now() - startedAt;
      options.onProgress?.(result);
    }
  }

  await Promise.all(Array.from({ length: options.concurrency }, () => worker()));
  result.elapsedMs = performance.now() - startedAt;
  return result;
}
