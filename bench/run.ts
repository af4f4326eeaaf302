// Benchmarks the service against peer servers and writes bench/RESULTS.md.
//
// Usage: npm run bench [-- --rounds 5 --duration 10 --cold-starts 10 --concurrency 10000 --no-pin]
//
// Phases: cold start and idle memory (spawned fresh, interleaved), closed-loop load with wrk
// in interleaved rounds, memory after load, /metrics scrapes, then the concurrency check on a
// fresh service. Servers run pinned to CPU 0 and load generators to CPU 1 unless --no-pin.
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import { buildPeers } from './build-peers.ts';
import { measureConcurrency } from './concurrency.ts';
import type { ConcurrencyResult } from './concurrency.ts';
import { describeMachine } from './machine.ts';
import { readCpuTimeUs, readMemoryKib } from './proc-stats.ts';
import {
  checkTargets,
  renderChecks,
  renderMachine,
  renderRounds,
  renderSummaryTable,
  summarize,
} from './report.ts';
import type { TargetMeasurements } from './report.ts';
import { writeMarkdown } from './results-file.ts';
import { measureScrape } from './scrape.ts';
import { startServer } from './server-process.ts';
import type { RunningServer } from './server-process.ts';
import { REFERENCE_TARGET, SERVICE_ENTRY, SERVICE_TARGET, TARGETS } from './targets.ts';
import type { Target } from './targets.ts';
import { runLoad } from './wrk.ts';

/** Settings of one run, from the command line. */
interface RunSettings {
  rounds: number;
  durationSeconds: number;
  connections: number;
  warmupSeconds: number;
  coldStarts: number;
  idleSettleMs: number;
  concurrency: number;
  serverCpus: string | undefined;
  loadCpus: string | undefined;
  outputPath: string;
}

const RESULTS_PATH = resolve(import.meta.dirname, 'RESULTS.md');

function readSettings(): RunSettings {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '64' },
      'cold-starts': { type: 'string', default: '10' },
      concurrency: { type: 'string', default: '10000' },
      'no-pin': { type: 'boolean', default: false },
      output: { type: 'string', default: RESULTS_PATH },
    },
  });
  const rounds = readPositiveInteger('--rounds', values.rounds);
  if (rounds < 3)
    throw new Error(`--rounds must be 3 or more so medians mean something, got ${rounds}`);
  const pin = !values['no-pin'];
  return {
    rounds,
    durationSeconds: readPositiveInteger('--duration', values.duration),
    connections: readPositiveInteger('--connections', values.connections),
    warmupSeconds: 3,
    coldStarts: readPositiveInteger('--cold-starts', values['cold-starts']),
    idleSettleMs: 1_000,
    concurrency: readPositiveInteger('--concurrency', values.concurrency),
    serverCpus: pin ? '0' : undefined,
    loadCpus: pin ? '1' : undefined,
    outputPath: resolve(values.output),
  };
}

function readPositiveInteger(option: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${option} must be a positive integer, got "${text}"`);
  }
  return value;
}

function emptyMeasurements(target: Target): TargetMeasurements {
  return {
    target,
    rounds: [],
    coldStartsMs: [],
    idleRssKib: [],
    afterLoadRssKib: Number.NaN,
    peakRssKib: Number.NaN,
    scrape: undefined,
  };
}

/** Spawns every target `coldStarts` times in turn, recording cold start and RSS after settling. */
async function measureColdStarts(settings: RunSettings, all: TargetMeasurements[]): Promise<void> {
  for (let i = 0; i < settings.coldStarts; i++) {
    for (const m of all) {
      const server = await startServer(m.target, {
        cpuList: settings.serverCpus,
        logSuffix: '-cold',
      });
      m.coldStartsMs.push(server.coldStartMs);
      await sleep(settings.idleSettleMs);
      m.idleRssKib.push(readMemoryKib(server.pid).rssKib);
      await server.stop();
    }
    console.log(`  cold start ${i + 1}/${settings.coldStarts} done`);
  }
}

/** Loads every running server in interleaved rounds after one warm-up run each. */
async function measureLoad(
  settings: RunSettings,
  all: TargetMeasurements[],
  servers: Map<string, RunningServer>,
): Promise<void> {
  const urlOf = (m: TargetMeasurements) => `${servers.get(m.target.name)?.baseUrl}/hello?user=x`;
  for (const m of all) {
    await runLoad({
      url: urlOf(m),
      connections: settings.connections,
      durationSeconds: settings.warmupSeconds,
      cpuList: settings.loadCpus,
    });
  }
  for (let round = 1; round <= settings.rounds; round++) {
    for (const m of all) {
      const pid = servers.get(m.target.name)?.pid ?? 0;
      const cpuBeforeUs = readCpuTimeUs(pid);
      const result = await runLoad({
        url: urlOf(m),
        connections: settings.connections,
        durationSeconds: settings.durationSeconds,
        cpuList: settings.loadCpus,
      });
      result.cpuUsPerRequest = (readCpuTimeUs(pid) - cpuBeforeUs) / result.requests;
      m.rounds.push(result);
      console.log(
        `  round ${round} ${m.target.name}: ${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(2)} ms, ${result.cpuUsPerRequest.toFixed(1)} us CPU/req, errors ${result.errors}`,
      );
    }
  }
}

async function main(): Promise<void> {
  const settings = readSettings();
  if (!existsSync(SERVICE_ENTRY)) {
    throw new Error(`${SERVICE_ENTRY} is missing: run "npm run build" first (npm run bench does)`);
  }
  const started = Date.now();
  const startLoadAverage = loadavg()
    .map((load) => load.toFixed(2))
    .join(' / ');
  console.log('building peers');
  await buildPeers();
  const all = TARGETS.map(emptyMeasurements);

  console.log(`cold start and idle RSS: ${settings.coldStarts} starts per target`);
  await measureColdStarts(settings, all);

  console.log(
    `load: ${settings.rounds} rounds of ${settings.durationSeconds} s, ${settings.connections} connections`,
  );
  const servers = new Map<string, RunningServer>();
  try {
    for (const m of all) {
      servers.set(m.target.name, await startServer(m.target, { cpuList: settings.serverCpus }));
    }
    await measureLoad(settings, all, servers);

    for (const m of all) {
      const server = servers.get(m.target.name);
      if (!server) continue;
      const memory = readMemoryKib(server.pid);
      m.afterLoadRssKib = memory.rssKib;
      m.peakRssKib = memory.peakRssKib;
      if (m.target.hasMetrics) {
        m.scrape = await measureScrape(server.baseUrl, {
          repeat: 5,
          warmupScrapes: 5,
          scrapes: 50,
        });
      }
    }
  } finally {
    for (const server of servers.values()) await server.stop();
  }

  console.log(`concurrency: ${settings.concurrency} concurrent /hello with the default delay`);
  const concurrency = await runConcurrency(settings);

  const summaries = summarize(all, REFERENCE_TARGET);
  const instrumentedPeers = TARGETS.filter(
    (t) => t.hasMetrics && !t.name.startsWith(SERVICE_TARGET),
  ).map((t) => t.name);
  const checks = checkTargets(summaries, SERVICE_TARGET, instrumentedPeers, concurrency);
  const minutes = (Date.now() - started) / 60_000;

  const table = renderSummaryTable(summaries);
  console.log(`\n${table}\n\n${renderChecks(checks)}\n`);
  await writeMarkdown(
    settings.outputPath,
    renderResults(settings, all, table, checks, concurrency, minutes, startLoadAverage) +
      keptSoakSections(settings.outputPath),
  );
  console.log(`wrote ${settings.outputPath} (${minutes.toFixed(1)} min)`);
}

/**
 * Returns the soak sections of an existing results file, which `npm run soak` appends: they
 * take minutes to measure, so a new bench run keeps them below its own results.
 */
function keptSoakSections(path: string): string {
  if (!existsSync(path)) return '';
  const text = readFileSync(path, 'utf8');
  const start = text.search(/^## Soak/m);
  return start === -1 ? '' : `\n\n${text.slice(start)}`;
}

async function runConcurrency(settings: RunSettings): Promise<ConcurrencyResult> {
  const serviceTarget = TARGETS.find((t) => t.name === SERVICE_TARGET);
  if (!serviceTarget) throw new Error(`no ${SERVICE_TARGET} target`);
  // The default 0-2 s delay applies: no DELAY_* overrides here.
  const target: Target = {
    ...serviceTarget,
    name: 'service-concurrency',
    env: { SHUTDOWN_DELAY_MS: '0' },
  };
  const server = await startServer(target, { cpuList: settings.serverCpus });
  try {
    return await measureConcurrency(server, {
      count: settings.concurrency,
      cpuList: settings.loadCpus,
      timeoutMs: 60_000,
    });
  } finally {
    await server.stop();
  }
}

function renderResults(
  settings: RunSettings,
  all: readonly TargetMeasurements[],
  table: string,
  checks: ReturnType<typeof checkTargets>,
  concurrency: ConcurrencyResult,
  minutes: number,
  startLoadAverage: string,
): string {
  const pinning = settings.serverCpus
    ? `Servers ran pinned to CPU ${settings.serverCpus} and load generators to CPU ${settings.loadCpus} (taskset)`
    : 'Nothing was pinned to a CPU';
  const logging = TARGETS.map((t) => `- ${t.name}: ${t.logging}`).join('\n');
  const errorList = Object.entries(concurrency.errors)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const statusList = Object.entries(concurrency.otherStatuses)
    .map(([status, n]) => `${status} ${n}`)
    .join(', ');
  return `# Benchmark results

Written by \`npm run bench\` (bench/run.ts) in ${minutes.toFixed(1)} minutes. Every number
comes from the one run below; rerun the command to replace them.

## Machine

${renderMachine(describeMachine())}

## Method

- Load: wrk, ${settings.connections} connections, one thread, closed loop, ${settings.durationSeconds} s per
  round on \`/hello?user=x\`, ${settings.rounds} rounds visiting the targets in turn after a
  ${settings.warmupSeconds} s warm-up each. The table shows medians over rounds; "x Hono" is the median
  of the per-round ratios to bare Hono in the same round. "CPU us/req" is the server's user plus
  system CPU time (/proc/PID/stat) over the round divided by the requests served: other work on
  the machine moves it far less than it moves req/s.
- ${pinning}. The machine was shared with other work (load average ${startLoadAverage} at the
  start), so single rounds are noisy and latency percentiles most of all.
- Cold start: from spawn to the first 200 on \`/readyz\` (service) or \`/healthz\` (peers),
  polled every 2 ms, median of ${settings.coldStarts}. Idle RSS: VmRSS ${settings.idleSettleMs} ms after
  that first 200, median of the same starts. RSS after load: VmRSS after all rounds.
- Scrape: after 5 passes over every route and several statuses (200, 201, 404, 429, 500, 503,
  unknown paths, a 400 and a 405), 5 warm-up scrapes, then 50 timed scrapes on one keep-alive
  connection; the size and sample count are of the last scrape.
- Every target is an esbuild bundle (same options as \`npm run build\`) run by the same Node.
  The service runs \`node dist/server.js\` with DELAY_MAX_MS=0 and LOG_LEVEL at its default;
  "service-otel-off" adds OTEL_SDK_DISABLED=true. All stdout goes to a file.
- The service's entry point turns on Node's compile cache (\`module.enableCompileCache()\`), so
  its first cold start compiles and later ones reuse the cache; the peers do not. The service
  also loads its runtime metrics after it is ready and its OTLP modules only when configured.

Logging per target:

${logging}

## Results

${table}

Per round:

${renderRounds(all)}

## Targets (service with telemetry on)

${renderChecks(checks)}

## Concurrency

${concurrency.count} concurrent \`/hello\` requests to the service with its default 0-2 s delay,
all connections opened first (${concurrency.connected} connected in ${concurrency.connectMs.toFixed(0)} ms),
then one request written on each:

- 200 responses: ${concurrency.ok}; other statuses: ${statusList || 'none'}; errors: ${errorList || 'none'}
- latency from the write: p50 ${concurrency.latencyMs.p50.toFixed(0)} ms, p99 ${concurrency.latencyMs.p99.toFixed(0)} ms, max ${concurrency.latencyMs.max.toFixed(0)} ms
- highest \`http_server_active_requests\` seen by scrapes every 250 ms: ${concurrency.maxActiveRequests} (${concurrency.scrapesOk} scrapes returned, ${concurrency.scrapesFailed} failed or timed out after 10 s)
- peak RSS of the service (VmHWM): ${(concurrency.peakRssKib / 1024).toFixed(1)} MiB
`;
}

await main();
