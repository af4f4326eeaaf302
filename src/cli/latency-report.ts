/**
 * Latency queries and their terminal rendering, shared by `npm run latency` and `npm run demo`.
 */
import type { PrometheusClient } from './prometheus-api.ts';

/** Quantiles every report shows. */
export const REPORT_QUANTILES = [0.5, 0.9, 0.99] as const;

/** Job selector that matches the local job `httpserver` and the cluster jobs `<namespace>/httpserver`. */
export const DEFAULT_JOB_PATTERN = '(.+/)?httpserver';

/** Raised when Prometheus has no samples for the requested route and window. */
export class EmptyResultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmptyResultError';
  }
}

export interface LatencyQueryOptions {
  /** Route template as in the http_route label, for example /hello. */
  route: string;
  /** PromQL range, for example 5m. */
  window: string;
  /** Regular expression for the job label. @default DEFAULT_JOB_PATTERN */
  jobPattern?: string;
}

/** One column of the quantile table: a latency source and its value for each quantile. */
export interface QuantileColumn {
  title: string;
  /** Seconds, in REPORT_QUANTILES order; NaN where the source has no value. */
  valuesS: number[];
}

/** Number of requests whose latency falls in (lowerS, upperS]. */
export interface LatencyBucket {
  lowerS: number;
  upperS: number;
  count: number;
}

/** Everything the terminal report shows. */
export interface LatencyReport {
  heading: string;
  columns: QuantileColumn[];
  requestRatePerS: number;
  rateLabel: string;
  buckets: LatencyBucket[];
  bucketsLabel: string;
}

const DURATION_PATTERN = /^([0-9]+(ms|s|m|h|d|w|y))+$/;

/** Throws when `window` is not a PromQL duration such as 30s, 5m or 1h30m. */
export function validateWindow(window: string): void {
  if (!DURATION_PATTERN.test(window)) {
    throw new Error(`invalid window "${window}": use a Prometheus duration such as 30s, 5m or 1h`);
  }
}

function quoteLabelValue(value: string): string {
  return JSON.stringify(value);
}

/** Builds the PromQL of a latency report. The demo prints one of them for the Prometheus UI. */
export function buildLatencyQueries(options: LatencyQueryOptions): {
  requestDuration: (q: number) => string;
  executionLatency: (q: number) => string;
  requestRate: string;
  buckets: string;
} {
  const job = quoteLabelValue(options.jobPattern ?? DEFAULT_JOB_PATTERN);
  const route = quoteLabelValue(options.route);
  const selector = `{job=~${job}, http_route=${route}}`;
  const window = options.window;
  return {
    requestDuration: (q) =>
      `histogram_quantile(${q}, sum by (le) (rate(http_server_request_duration_bucket${selector}[${window}])))`,
    executionLatency: (q) =>
      `histogram_quantile(${q}, sum by (le) (rate(httpserver_execution_latency_seconds_bucket{job=~${job}}[${window}])))`,
    requestRate: `sum(rate(http_server_request_duration_count${selector}[${window}]))`,
    buckets: `sum by (le) (increase(http_server_request_duration_bucket${selector}[${window}]))`,
  };
}

/**
 * Runs the report queries at `time` (Unix seconds, default now). The course histogram
 * httpserver_execution_latency_seconds observes /hello only, so its column appears for /hello.
 * Throws EmptyResultError when the route served no request in the window.
 */
export async function fetchLatencyReport(
  client: PrometheusClient,
  options: LatencyQueryOptions,
  time?: number,
): Promise<LatencyReport> {
  validateWindow(options.window);
  const queries = buildLatencyQueries(options);

  const rate = await client.query(queries.requestRate, time);
  const requestRatePerS = rate[0]?.value;
  if (requestRatePerS === undefined || !(requestRatePerS > 0)) {
    const found = requestRatePerS === undefined ? 'no samples of' : 'no new requests in';
    throw new EmptyResultError(
      `${found} http_server_request_duration for route ${options.route} in the last ${options.window} ` +
        `on ${client.baseUrl}: check that Prometheus scrapes httpserver (query up) and that the route got requests`,
    );
  }

  const columns: QuantileColumn[] = [
    {
      title: 'http_server_request_duration',
      valuesS: await queryQuantiles(client, queries.requestDuration, time),
    },
  ];
  if (options.route === '/hello') {
    columns.push({
      title: 'httpserver_execution_latency_seconds',
      valuesS: await queryQuantiles(client, queries.executionLatency, time),
    });
  }

  const cumulative = await client.query(queries.buckets, time);
  const buckets = toBuckets(
    cumulative.map((sample) => ({ le: parseBucketBound(sample.metric.le), count: sample.value })),
  );

  return {
    heading: `${options.route} latency over the last ${options.window} (Prometheus ${client.baseUrl})`,
    columns,
    requestRatePerS,
    rateLabel: `request rate (average over ${options.window})`,
    buckets,
    bucketsLabel: `requests per bucket of http_server_request_duration (increase() over ${options.window}, an estimate)`,
  };
}

async function queryQuantiles(
  client: PrometheusClient,
  query: (q: number) => string,
  time: number | undefined,
): Promise<number[]> {
  const values: number[] = [];
  for (const q of REPORT_QUANTILES) {
    const result = await client.query(query(q), time);
    values.push(result[0]?.value ?? Number.NaN);
  }
  return values;
}

/** Parses an `le` label value; Prometheus writes the last bucket as +Inf. */
function parseBucketBound(le: string | undefined): number {
  if (le === '+Inf') return Number.POSITIVE_INFINITY;
  return Number(le);
}

/** Turns cumulative bucket counts (le, count) into per-bucket counts, dropping empty edges. */
export function toBuckets(cumulative: { le: number; count: number }[]): LatencyBucket[] {
  const sorted = [...cumulative].sort((a, b) => a.le - b.le);
  const buckets: LatencyBucket[] = [];
  let previous = { le: 0, count: 0 };
  for (const entry of sorted) {
    buckets.push({
      lowerS: previous.le,
      upperS: entry.le,
      count: Math.max(0, entry.count - previous.count),
    });
    previous = entry;
  }
  const first = buckets.findIndex((bucket) => bucket.count >= 0.5);
  if (first === -1) return [];
  const last = buckets.findLastIndex((bucket) => bucket.count >= 0.5);
  return buckets.slice(first, last + 1);
}

/**
 * Returns the q-quantile of `values` with linear interpolation between the closest ranks
 * (the R-7 definition, which numpy and spreadsheets use by default).
 */
export function quantileOf(values: readonly number[], q: number): number {
  if (values.length === 0) throw new Error('quantile of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const lowerValue = sorted[lower] as number;
  const upperValue = sorted[upper] as number;
  return lowerValue + (upperValue - lowerValue) * (position - lower);
}

/** Groups latencies (seconds) into fixed-width buckets, for the demo without Prometheus. */
export function bucketLatencies(latenciesS: readonly number[], widthS: number): LatencyBucket[] {
  const counts = new Map<number, number>();
  for (const latency of latenciesS) {
    const index = Math.max(0, Math.ceil(latency / widthS) - 1);
    counts.set(index, (counts.get(index) ?? 0) + 1);
  }
  const indexes = [...counts.keys()];
  if (indexes.length === 0) return [];
  const buckets: LatencyBucket[] = [];
  for (let index = Math.min(...indexes); index <= Math.max(...indexes); index += 1) {
    buckets.push({
      lowerS: index * widthS,
      upperS: (index + 1) * widthS,
      count: counts.get(index) ?? 0,
    });
  }
  return buckets;
}

function formatSeconds(value: number): string {
  if (Number.isNaN(value)) return 'n/a';
  if (!Number.isFinite(value)) return '+Inf';
  return `${value.toFixed(3)} s`;
}

function formatBound(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toFixed(3))) : '+Inf';
}

/** Renders a report as the table and histogram that the CLI and the demo print. */
export function formatLatencyReport(report: LatencyReport, barWidth = 40): string {
  const lines = [report.heading, ''];

  const firstWidth = 10;
  const widths = report.columns.map((column) => Math.max(column.title.length, 10) + 2);
  const header =
    'quantile'.padEnd(firstWidth) +
    report.columns.map((column, i) => column.title.padEnd(widths[i] ?? 0)).join('');
  lines.push(header.trimEnd());
  REPORT_QUANTILES.forEach((q, row) => {
    const cells = report.columns.map((column, i) =>
      formatSeconds(column.valuesS[row] ?? Number.NaN).padEnd(widths[i] ?? 0),
    );
    lines.push((`p${q * 100}`.padEnd(firstWidth) + cells.join('')).trimEnd());
  });
  lines.push('', `${report.rateLabel}: ${report.requestRatePerS.toFixed(2)} requests/s`);

  if (report.buckets.length > 0) {
    lines.push('', `${report.bucketsLabel}:`);
    const maxCount = Math.max(...report.buckets.map((bucket) => bucket.count));
    const labels = report.buckets.map(
      (bucket) => `${formatBound(bucket.lowerS)}-${formatBound(bucket.upperS)} s`,
    );
    const labelWidth = Math.max(...labels.map((label) => label.length));
    report.buckets.forEach((bucket, i) => {
      const length = maxCount > 0 ? Math.round((bucket.count / maxCount) * barWidth) : 0;
      const bar = '#'.repeat(length);
      const label = (labels[i] ?? '').padStart(labelWidth);
      lines.push(`  ${label} | ${bar.padEnd(barWidth)} ${Math.round(bucket.count)}`);
    });
  }
  return lines.join('\n');
}
