// Runs the service under moderate mixed load for a while, samples its resident memory and
// open file descriptors from /proc, fits a line to each, and appends the result to
// bench/RESULTS.md.
//
// Usage: npm run soak -- --duration 5m [--connections 100] [--node-options=--max-old-space-size=96] [--no-pin]
// --node-options sets NODE_OPTIONS for the service. With a small heap limit, a leak makes
// the process run out of heap, while a heap that V8 grew only because memory was plentiful
// stays under the limit.
// The service keeps its default 0-2 s /hello delay, so the load stays moderate: about
// `connections` requests in flight at any time.
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import { describeMachine } from './machine.ts';
import { countOpenFds, readMemoryKib } from './proc-stats.ts';
import { fixed, renderMachine } from './report.ts';
import { appendMarkdown } from './results-file.ts';
import { httpGet } from './http-client.ts';
import { startServer } from './server-process.ts';
import { linearFit, median } from './stats.ts';
import { SERVICE_ENTRY } from './targets.ts';
import type { Target } from './targets.ts';
import { runLoad } from './wrk.ts';
import type { LoadResult } from './wrk.ts';

const RESULTS_PATH = resolve(import.meta.dirname, 'RESULTS.md');
const MIXED_SCRIPT = resolve(import.meta.dirname, 'wrk-mixed.lua');

/** Share of the samples at the start left out of the fit: heap and JIT still grow there. */
const WARMUP_SHARE = 0.2;

/**
 * Memory counts as flat when the fitted growth over the fitted window is below this share
 * of the median RSS. A heuristic: GC makes RSS move in steps, so a short run needs slack.
 */
const FLAT_GROWTH_SHARE = 0.05;

interface Sample {
  seconds: number;
  rssKib: number;
  fds: number;
  /** Sum of v8js_memory_heap_used over heap spaces from /metrics, or NaN when the scrape failed. */
  heapUsedKib: number;
}

/**
 * Reads the V8 heap in use from the service's own /metrics. A growing JavaScript heap points
 * at a leak in the code, and RSS growing alone points at heap capacity or native memory.
 */
async function readHeapUsedKib(baseUrl: string): Promise<number> {
  try {
    const { status, body } = await httpGet(`${baseUrl}/metrics`, { timeoutMs: 5_000 });
    if (status !== 200) return Number.NaN;
    let bytes = 0;
    let found = false;
    for (const line of body.split('\n')) {
      if (!line.startsWith('v8js_memory_heap_used{')) continue;
      bytes += Number(line.slice(line.lastIndexOf(' ') + 1));
      found = true;
    }
    return found ? bytes / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Parses "90s", "5m", "1h" or plain seconds into seconds. */
function parseDurationSeconds(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim());
  if (!match?.[1]) throw new Error(`invalid --duration "${text}": use for example 90s, 5m or 1h`);
  const unitSeconds = { s: 1, m: 60, h: 3600 }[match[2] ?? 's'] ?? 1;
  const seconds = Number(match[1]) * unitSeconds;
  if (seconds < 10) throw new Error(`--duration must be 10 s or more, got ${text}`);
  return seconds;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5m' },
      connections: { type: 'string', default: '100' },
      'node-options': { type: 'string', default: '' },
      'no-pin': { type: 'boolean', default: false },
    },
  });
  const durationSeconds = parseDurationSeconds(values.duration);
  const connections = Number(values.connections);
  if (!Number.isInteger(connections) || connections <= 0) {
    throw new Error(`--connections must be a positive integer, got "${values.connections}"`);
  }
  const serverCpus = values['no-pin'] ? undefined : '0';
  const loadCpus = values['no-pin'] ? undefined : '1';
  const sampleIntervalMs = Math.max(1_000, (durationSeconds * 1_000) / 150);

  const target: Target = {
    name: 'service-soak',
    entry: SERVICE_ENTRY,
    env: { SHUTDOWN_DELAY_MS: '0' },
    readyPath: '/readyz',
    hasMetrics: true,
    logging: 'access log at info to a file',
  };
  const nodeOptions = values['node-options'];
  const server = await startServer(target, {
    cpuList: serverCpus,
    env: nodeOptions === '' ? {} : { NODE_OPTIONS: nodeOptions },
  });
  console.log(`soak: ${durationSeconds} s, ${connections} connections, service pid ${server.pid}`);

  const samples: Sample[] = [];
  let load: LoadResult;
  try {
    const startedAt = performance.now();
    let loadDone = false;
    const loadPromise = runLoad({
      url: server.baseUrl,
      connections,
      durationSeconds,
      cpuList: loadCpus,
      script: MIXED_SCRIPT,
    }).finally(() => {
      loadDone = true;
    });

    while (!loadDone) {
      const memory = readMemoryKib(server.pid);
      const seconds = (performance.now() - startedAt) / 1_000;
      const fds = countOpenFds(server.pid);
      const heapUsedKib = await readHeapUsedKib(server.baseUrl);
      samples.push({ seconds, rssKib: memory.rssKib, fds, heapUsedKib });
      await sleep(sampleIntervalMs);
    }
    load = await loadPromise;
  } finally {
    await server.stop();
  }

  const section = renderSoak(durationSeconds, connections, nodeOptions, samples, load);
  console.log(section);
  await appendMarkdown(RESULTS_PATH, section);
  console.log(`appended to ${RESULTS_PATH}`);
}

function renderSoak(
  durationSeconds: number,
  connections: number,
  nodeOptions: string,
  samples: readonly Sample[],
  load: LoadResult,
): string {
  const fitted = samples.slice(Math.floor(samples.length * WARMUP_SHARE));
  if (fitted.length < 2) throw new Error(`only ${fitted.length} samples after warm-up: run longer`);
  const times = fitted.map((s) => s.seconds);
  const rssFit = linearFit(
    times,
    fitted.map((s) => s.rssKib),
  );
  const fdFit = linearFit(
    times,
    fitted.map((s) => s.fds),
  );
  const windowSeconds = (times.at(-1) ?? 0) - (times[0] ?? 0);
  const medianRssKib = median(fitted.map((s) => s.rssKib));
  const growthKib = rssFit.slope * windowSeconds;
  const memoryFlat = growthKib < medianRssKib * FLAT_GROWTH_SHARE;
  const fds = samples.map((s) => s.fds);
  const heapSamples = fitted.filter((s) => Number.isFinite(s.heapUsedKib));
  const heapFit =
    heapSamples.length >= 2
      ? linearFit(
          heapSamples.map((s) => s.seconds),
          heapSamples.map((s) => s.heapUsedKib),
        )
      : undefined;
  const heapLine = heapFit
    ? `- V8 heap used (from /metrics): median after warm-up ${fixed(median(heapSamples.map((s) => s.heapUsedKib)) / 1024, 1)} MiB, slope ${fixed((heapFit.slope * 60) / 1024, 3)} MiB/min (${heapSamples.length} scrapes)`
    : '- V8 heap used: not available (no v8js_memory_heap_used series on /metrics)';
  const rssValues = samples.map((s) => s.rssKib);

  return `## Soak (${new Date().toISOString()})

\`npm run soak -- --duration ${durationSeconds}s --connections ${connections}${nodeOptions === '' ? '' : ` --node-options="${nodeOptions}"`}\`: the service with
its default 0-2 s delay under a mixed closed loop (wrk-mixed.lua: /hello, /, /version,
404, 500, /delay/5, unknown paths and /metrics), RSS and open fds sampled ${samples.length} times
from /proc. The fit leaves out the first ${WARMUP_SHARE * 100}% of samples.

${renderMachine(describeMachine())}

- Requests: ${load.requests} (${fixed(load.requestsPerSecond, 0)} req/s), socket errors ${load.socketErrors}, responses >= 400 ${load.errorResponses} (the mix asks for 404 and 500 on purpose)
- RSS: first ${fixed((rssValues[0] ?? 0) / 1024, 1)} MiB, median after warm-up ${fixed(medianRssKib / 1024, 1)} MiB, max ${fixed(Math.max(...rssValues) / 1024, 1)} MiB, last ${fixed((rssValues.at(-1) ?? 0) / 1024, 1)} MiB
- RSS slope: ${fixed((rssFit.slope * 60) / 1024, 3)} MiB/min, ${fixed(growthKib / 1024, 2)} MiB over ${fixed(windowSeconds, 0)} s
${heapLine}
- Open fds: min ${Math.min(...fds)}, max ${Math.max(...fds)}, slope ${fixed(fdFit.slope * 60, 2)} per min
- Memory flat (fitted growth under ${FLAT_GROWTH_SHARE * 100}% of median RSS): **${memoryFlat ? 'yes' : 'no'}**
`;
}

await main();
