/**
 * Prints p50/p90/p99, the request rate and a latency histogram of one route from any
 * Prometheus that scrapes httpserver:
 *
 *   npm run latency -- --prometheus http://localhost:9090 [--route /hello] [--window 5m]
 *
 * Exit codes: 0 report printed, 1 Prometheus unreachable, query failed or no data, 2 invalid
 * arguments.
 */
import { parseArgs } from 'node:util';

import {
  DEFAULT_JOB_PATTERN,
  EmptyResultError,
  fetchLatencyReport,
  formatLatencyReport,
  validateWindow,
} from './latency-report.ts';
import { createPrometheusClient, PrometheusApiError } from './prometheus-api.ts';

const USAGE = `usage: npm run latency -- --prometheus URL [--route /hello] [--window 5m] [--job REGEX]

  --prometheus URL  base URL of the Prometheus server, for example http://localhost:9090
                    (kubectl port-forward svc/prometheus 9090 makes a cluster's reachable)
  --route ROUTE     route template as in the http_route label (default /hello)
  --window RANGE    PromQL range the rates and quantiles cover (default 5m)
  --job REGEX       regular expression for the job label (default ${DEFAULT_JOB_PATTERN})`;

class UsageError extends Error {}

function parseOptions(argv: string[]): {
  prometheus: string;
  route: string;
  window: string;
  job: string;
} | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        prometheus: { type: 'string' },
        route: { type: 'string', default: '/hello' },
        window: { type: 'string', default: '5m' },
        job: { type: 'string', default: DEFAULT_JOB_PATTERN },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}; run with --help for the options`);
  }
  const { values } = parsed;
  if (values.help) return null;
  if (values.prometheus === undefined) {
    throw new UsageError(
      'missing --prometheus URL, for example --prometheus http://localhost:9090',
    );
  }
  try {
    validateWindow(values.window);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return {
    prometheus: values.prometheus,
    route: values.route,
    window: values.window,
    job: values.job,
  };
}

async function main(argv: string[]): Promise<number> {
  let options;
  try {
    options = parseOptions(argv);
    if (options === null) {
      console.log(USAGE);
      return 0;
    }
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }

  try {
    const client = createPrometheusClient(options.prometheus);
    const report = await fetchLatencyReport(client, {
      route: options.route,
      window: options.window,
      jobPattern: options.job,
    });
    console.log(formatLatencyReport(report));
    return 0;
  } catch (error) {
    if (error instanceof PrometheusApiError && error.kind === 'invalid_url') {
      console.error(`error: ${error.message}`);
      return 2;
    }
    if (error instanceof PrometheusApiError || error instanceof EmptyResultError) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
