// Sends many concurrent /hello requests, each with the service's default 0-2 s delay,
// from a separate client process, and records errors and the service's peak memory.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ConcurrencyOutcome } from './concurrency-client.ts';
import { httpGet } from './http-client.ts';
import { readMemoryKib } from './proc-stats.ts';
import type { RunningServer } from './server-process.ts';

const CLIENT_SCRIPT = resolve(import.meta.dirname, 'concurrency-client.ts');
const SAMPLE_INTERVAL_MS = 250;

/** Client outcome plus what was observed of the service meanwhile. */
export interface ConcurrencyResult extends ConcurrencyOutcome {
  /** Peak resident memory of the service (VmHWM) after the run, in KiB. */
  peakRssKib: number;
  /** Highest sum of http_server_active_requests seen by the periodic scrapes. */
  maxActiveRequests: number;
  /** Scrapes that returned the gauge, and scrapes that failed or timed out. */
  scrapesOk: number;
  scrapesFailed: number;
}

/** Runs the client against `/hello` of a service started with the default delay. */
export async function measureConcurrency(
  server: RunningServer,
  options: { count: number; cpuList: string | undefined; timeoutMs: number },
): Promise<ConcurrencyResult> {
  const clientArgs = [
    CLIENT_SCRIPT,
    '--url',
    `${server.baseUrl}/hello?user=concurrency`,
    '--count',
    String(options.count),
    '--timeout-ms',
    String(options.timeoutMs),
  ];
  const command = options.cpuList === undefined ? process.execPath : 'taskset';
  const args =
    options.cpuList === undefined
      ? clientArgs
      : ['-c', options.cpuList, process.execPath, ...clientArgs];

  let running = true;
  const scrapes = { maxActiveRequests: 0, scrapesOk: 0, scrapesFailed: 0 };
  const sampler = (async () => {
    while (running) {
      const active = await readActiveRequests(server.baseUrl);
      if (active === undefined) {
        scrapes.scrapesFailed++;
      } else {
        scrapes.scrapesOk++;
        scrapes.maxActiveRequests = Math.max(scrapes.maxActiveRequests, active);
      }
      await sleep(SAMPLE_INTERVAL_MS);
    }
  })();

  try {
    const stdout = await new Promise<string>((resolvePromise, reject) => {
      execFile(command, args, { timeout: options.timeoutMs + 60_000 }, (error, out, stderr) => {
        if (error) reject(new Error(`concurrency client failed: ${error.message}\n${stderr}`));
        else resolvePromise(out);
      });
    });
    const outcome = JSON.parse(stdout.trim()) as ConcurrencyOutcome;
    running = false;
    await sampler;
    return { ...outcome, peakRssKib: readMemoryKib(server.pid).peakRssKib, ...scrapes };
  } finally {
    running = false;
    await sampler;
  }
}

/** Sum of all http_server_active_requests series, or undefined when the scrape fails. */
async function readActiveRequests(baseUrl: string): Promise<number | undefined> {
  try {
    const { status, body } = await httpGet(`${baseUrl}/metrics`, { timeoutMs: 10_000 });
    if (status !== 200) return undefined;
    let total = 0;
    for (const line of body.split('\n')) {
      if (!/^http_server_active_requests[ {]/.test(line)) continue;
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return total;
  } catch {
    // A scrape can time out under this load. It is counted, and the client's counts still hold.
    return undefined;
  }
}
