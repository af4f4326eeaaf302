/**
 * Demonstrates the latency pipeline end to end on this machine:
 *
 *   npm run demo -- [--duration 30s] [--concurrency 10]
 *
 * It starts the service on 127.0.0.1 and a local Prometheus that scrapes it every second
 * (when the prometheus binary is installed), drives /hello traffic, and prints p50/p90/p99,
 * the request rate and a latency histogram from PromQL. Prometheus then keeps running for the
 * UI until Ctrl-C, which stops everything the demo started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import {
  bucketLatencies,
  buildLatencyQueries,
  fetchLatencyReport,
  formatLatencyReport,
  quantileOf,
  REPORT_QUANTILES,
  type LatencyReport,
} from './latency-report.ts';
import {
  findPrometheusBinary,
  PROMETHEUS_INSTALL_HINT,
  startLocalPrometheus,
  type LocalPrometheus,
} from './local-prometheus.ts';
import { startLocalService, type LocalService } from './local-service.ts';
import { exportRuleFile } from './rules.ts';
import { runTraffic, type TrafficProgress } from './traffic.ts';

const USAGE = `usage: npm run demo -- [--duration 30s] [--concurrency 10] [options]

  --duration TIME        how long to send /hello requests: 30s, 2m, 500ms (default 30s, max 1h)
  --concurrency N        requests in flight at once, 1 to 1000 (default 10)
  --max-requests N       stop after N requests even if time is left (default 100000)
  --prometheus-bin PATH  prometheus binary (default: prometheus on PATH, else /usr/bin/prometheus)
  --exit                 exit after the report instead of keeping Prometheus up until Ctrl-C

Environment variables of the service, such as DELAY_MAX_MS, pass through.`;

interface DemoOptions {
  durationMs: number;
  concurrency: number;
  maxRequests: number;
  prometheusBinary: string | undefined;
  exitAfterReport: boolean;
}

class UsageError extends Error {}

/** Parses 30s, 2m, 500ms or a plain number of seconds into milliseconds. */
export function parseDuration(text: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$/.exec(text);
  if (match === null) {
    throw new UsageError(`invalid --duration "${text}": use a number with ms, s or m, such as 30s`);
  }
  const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000 };
  const milliseconds = Number(match[1]) * (units[match[2] ?? 's'] ?? 1_000);
  if (milliseconds < 100 || milliseconds > 3_600_000) {
    throw new UsageError(`invalid --duration "${text}": must be between 100ms and 60m`);
  }
  return milliseconds;
}

function parseInteger(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`invalid --${name} "${text}": must be an integer from ${min} to ${max}`);
  }
  return value;
}

function parseOptions(argv: string[]): DemoOptions | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        duration: { type: 'string', default: '30s' },
        concurrency: { type: 'string', default: '10' },
        'max-requests': { type: 'string', default: '100000' },
        'prometheus-bin': { type: 'string' },
        exit: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}; run with --help for the options`);
  }
  if (values.help) return null;
  return {
    durationMs: parseDuration(values.duration),
    concurrency: parseInteger('concurrency', values.concurrency, 1, 1_000),
    maxRequests: parseInteger('max-requests', values['max-requests'], 1, 10_000_000),
    prometheusBinary: values['prometheus-bin'],
    exitAfterReport: values.exit,
  };
}

/** Draws a progress bar on a terminal, or prints a line every 10 s to a pipe or file. */
function createProgressPrinter(durationMs: number): {
  update: (progress: TrafficProgress) => void;
  /** Stops the bar, drawing it once more with the final counts. */
  finish: (final: TrafficProgress) => void;
} {
  const interactive = process.stderr.isTTY;
  let latest: TrafficProgress = { elapsedMs: 0, completed: 0, failed: 0 };
  let lastLineAt = 0;

  function render(): void {
    const fraction = Math.min(1, latest.elapsedMs / durationMs);
    const width = 30;
    const filled = Math.round(fraction * width);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
    const seconds = `${(latest.elapsedMs / 1000).toFixed(1)}/${(durationMs / 1000).toFixed(0)} s`;
    const text = `${bar} ${seconds}  ${latest.completed} ok  ${latest.failed} failed`;
    if (interactive) {
      process.stderr.write(`\r${text}`);
    } else if (latest.elapsedMs - lastLineAt >= 10_000) {
      lastLineAt = latest.elapsedMs;
      process.stderr.write(`${text}\n`);
    }
  }

  const timer = setInterval(render, interactive ? 250 : 1_000);
  return {
    update(progress) {
      latest = { ...progress };
    },
    finish(final) {
      clearInterval(timer);
      latest = { ...final };
      if (interactive) {
        render();
        process.stderr.write('\n');
      }
    },
  };
}

function clientSideReport(latenciesS: number[], elapsedMs: number): LatencyReport {
  return {
    heading: '/hello latency measured by the demo client (no Prometheus)',
    columns: [
      {
        title: 'client-side',
        valuesS: REPORT_QUANTILES.map((q) =>
          latenciesS.length > 0 ? quantileOf(latenciesS, q) : Number.NaN,
        ),
      },
    ],
    requestRatePerS: latenciesS.length / (elapsedMs / 1000),
    rateLabel: 'request rate (client-side)',
    buckets: bucketLatencies(latenciesS, 0.1),
    bucketsLabel: 'requests per 100 ms of client-side latency',
  };
}

async function startPrometheusIfInstalled(
  options: DemoOptions,
  service: LocalService,
  ruleDirectory: string,
): Promise<LocalPrometheus | undefined> {
  const binary = findPrometheusBinary(options.prometheusBinary);
  if (binary === undefined) {
    const searched = options.prometheusBinary ?? 'prometheus on PATH and /usr/bin/prometheus';
    console.log(`Prometheus not found (${searched}): ${PROMETHEUS_INSTALL_HINT}.`);
    console.log('Continuing without it: the numbers below are measured by the demo client.');
    return undefined;
  }
  const ruleFile = exportRuleFile(join(ruleDirectory, 'httpserver.rules.yml'));
  const prometheus = await startLocalPrometheus({
    target: `127.0.0.1:${service.port}`,
    ruleFiles: [ruleFile],
    binary,
  });
  console.log(`Prometheus ${prometheus.url} scrapes it every second (pid ${prometheus.pid}).`);
  return prometheus;
}

async function runDemo(options: DemoOptions, signal: AbortSignal): Promise<'done' | 'interrupted'> {
  let service: LocalService | undefined;
  let prometheus: LocalPrometheus | undefined;
  const ruleDirectory = mkdtempSync(join(tmpdir(), 'httpserver-demo-'));

  try {
    service = await startLocalService();
    console.log(`httpserver ${service.url} (pid ${service.pid})`);
    prometheus = await startPrometheusIfInstalled(options, service, ruleDirectory);
    if (signal.aborted) return 'interrupted';

    const helloUrl = `${service.url}/hello`;
    if (prometheus !== undefined) {
      // Create the /hello series before the load: rate() ignores requests made before a
      // series' first scrape.
      await fetch(helloUrl).then((response) => response.arrayBuffer());
      await prometheus.waitForScrapes(2);
    }
    const baselineAtS = Date.now() / 1000;
    if (signal.aborted) return 'interrupted';

    console.log(
      `Sending /hello requests for ${options.durationMs / 1000} s, ${options.concurrency} at a time. ` +
        'Ctrl-C stops.',
    );
    const progress = createProgressPrinter(options.durationMs);
    const traffic = await runTraffic({
      url: helloUrl,
      concurrency: options.concurrency,
      durationMs: options.durationMs,
      maxRequests: options.maxRequests,
      requestTimeoutMs: 15_000,
      signal,
      onProgress: progress.update,
    });
    // Requests still in flight when the duration ended complete after the last update.
    progress.finish({
      elapsedMs: traffic.elapsedMs,
      completed: traffic.completed,
      failed: traffic.failed,
    });
    if (signal.aborted) return 'interrupted';
    console.log(`${traffic.completed} requests completed, ${traffic.failed} failed.\n`);

    if (prometheus === undefined) {
      console.log(formatLatencyReport(clientSideReport(traffic.latenciesS, traffic.elapsedMs)));
      return 'done';
    }

    await prometheus.waitForScrapes(2);
    // The window reaches back to the last scrape before the load, so rate() covers all of it.
    const window = `${Math.ceil(Date.now() / 1000 - baselineAtS) + 2}s`;
    const report = await fetchLatencyReport(prometheus.client, { route: '/hello', window });
    console.log(formatLatencyReport(report));

    const p99Query = buildLatencyQueries({ route: '/hello', window: '1m' }).requestDuration(0.99);
    const graphUrl = new URL('graph', prometheus.url);
    graphUrl.searchParams.set('g0.expr', p99Query);
    graphUrl.searchParams.set('g0.tab', '0');
    graphUrl.searchParams.set('g0.range_input', '15m');
    console.log(`\nPrometheus UI: ${graphUrl.href}`);
    console.log(`Query to paste there (p99 over the last minute):\n  ${p99Query}`);
    console.log(
      'Recording rules such as job_http_route:http_server_request_duration:p99_rate5m are loaded too.',
    );

    if (options.exitAfterReport) return 'done';
    console.log('\nPrometheus and the service keep running. Press Ctrl-C to stop both.');
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    return 'done';
  } finally {
    await prometheus?.stop();
    await service?.stop();
    rmSync(ruleDirectory, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<number> {
  let options;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}`);
    return 2;
  }
  if (options === null) {
    console.log(USAGE);
    return 0;
  }

  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) return;
    console.log('\nStopping Prometheus and the service...');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const outcome = await runDemo(options, controller.signal);
    console.log('Stopped.');
    return outcome === 'interrupted' ? 130 : 0;
  } catch (error) {
    console.error(`error: demo failed: ${(error as Error).message}`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

process.exitCode = await main(process.argv.slice(2));
