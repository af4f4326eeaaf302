// Measures /metrics scrapes after sending traffic that creates realistic series.
import { Agent } from 'node:http';

import { httpGet } from './http-client.ts';
import { median, quantile } from './stats.ts';

/**
 * Requests that create one series per route and status class, as a real scrape would see:
 * every route, client and server errors, a zero delay and unknown paths.
 */
export const SEED_PATHS: readonly string[] = [
  '/',
  '/hello?user=seed',
  '/hello',
  '/version',
  '/status/200',
  '/status/201',
  '/status/404',
  '/status/429',
  '/status/500',
  '/status/503',
  '/delay/0',
  '/delay/bad',
  '/no/such/path',
  '/favicon.ico',
];

/** Scrape timing and size. */
export interface ScrapeResult {
  medianMs: number;
  p90Ms: number;
  maxMs: number;
  bytes: number;
  /** Sample lines: lines that are neither comments nor blank. */
  samples: number;
}

/** Sends each seed path `repeat` times (plus one POST /hello), then times `scrapes` scrapes. */
export async function measureScrape(
  baseUrl: string,
  options: { repeat: number; warmupScrapes: number; scrapes: number },
): Promise<ScrapeResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < options.repeat; i++) {
      for (const path of SEED_PATHS) await httpGet(`${baseUrl}${path}`, { agent });
    }
    await httpGet(`${baseUrl}/hello`, { agent, method: 'POST' });

    for (let i = 0; i < options.warmupScrapes; i++) await httpGet(`${baseUrl}/metrics`, { agent });

    const timesMs: number[] = [];
    let last = { bytes: 0, body: '' };
    for (let i = 0; i < options.scrapes; i++) {
      const result = await httpGet(`${baseUrl}/metrics`, { agent });
      if (result.status !== 200)
        throw new Error(`GET ${baseUrl}/metrics returned ${result.status}`);
      timesMs.push(result.elapsedMs);
      last = result;
    }
    return {
      medianMs: median(timesMs),
      p90Ms: quantile(timesMs, 0.9),
      maxMs: Math.max(...timesMs),
      bytes: last.bytes,
      samples: last.body.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length,
    };
  } finally {
    agent.destroy();
  }
}
