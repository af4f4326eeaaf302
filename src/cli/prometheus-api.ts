/**
 * A small client for the Prometheus HTTP API (instant queries), shared by the latency CLI, the
 * demo and the test harness. Every failure is a PrometheusApiError whose message names the
 * server and the next step to take.
 */

/** One series of an instant-query result: its labels and its value at the evaluation time. */
export interface VectorSample {
  metric: Record<string, string>;
  /** Evaluation time, Unix seconds. */
  timestamp: number;
  value: number;
}

/** Cause of a failed request to Prometheus. */
export type PrometheusErrorKind = 'invalid_url' | 'unreachable' | 'not_prometheus' | 'query_failed';

/** A failed request to Prometheus. `kind` is the cause, for exit codes and tests. */
export class PrometheusApiError extends Error {
  readonly kind: PrometheusErrorKind;

  constructor(kind: PrometheusErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PrometheusApiError';
    this.kind = kind;
  }
}

export interface PrometheusClientOptions {
  /** Maximum time for one HTTP request, in ms. */
  timeoutMs?: number;
}

/** Instant queries against one Prometheus server. */
export interface PrometheusClient {
  /** Base URL of the server, with a trailing slash. */
  readonly baseUrl: string;
  /**
   * Runs an instant query and returns its vector result. `time` is the evaluation time in
   * Unix seconds (default: now). A scalar result comes back as one sample without labels.
   */
  query(promql: string, time?: number): Promise<VectorSample[]>;
}

/**
 * Parses a Prometheus base URL such as http://localhost:9090 or
 * https://example.org/prometheus/. Throws PrometheusApiError('invalid_url') for anything
 * that is not an absolute http(s) URL.
 */
export function parsePrometheusUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new PrometheusApiError(
      'invalid_url',
      `invalid Prometheus URL "${text}": expected an absolute http(s) URL such as http://localhost:9090`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PrometheusApiError(
      'invalid_url',
      `invalid Prometheus URL "${text}": the scheme must be http or https, not ${url.protocol.replace(':', '')}`,
    );
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  url.search = '';
  url.hash = '';
  return url;
}

/** Creates a client for the Prometheus server at `baseUrl` (see parsePrometheusUrl). */
export function createPrometheusClient(
  baseUrl: string,
  options: PrometheusClientOptions = {},
): PrometheusClient {
  const base = parsePrometheusUrl(baseUrl);
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function query(promql: string, time?: number): Promise<VectorSample[]> {
    const url = new URL('api/v1/query', base);
    url.searchParams.set('query', promql);
    if (time !== undefined) url.searchParams.set('time', time.toFixed(3));

    const response = await fetchOrThrow(url, timeoutMs);
    const body = await readJsonBody(response, base);
    if (body.status !== 'success') {
      const reason = typeof body.error === 'string' ? body.error : `HTTP ${response.status}`;
      throw new PrometheusApiError(
        'query_failed',
        `query failed on ${base.href}: ${reason}; query: ${promql}`,
      );
    }
    return parseResult(body.data, promql);
  }

  return { baseUrl: base.href, query };
}

async function fetchOrThrow(url: URL, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const origin = url.origin;
    if (error instanceof DOMException && error.name === 'TimeoutError') {
      throw new PrometheusApiError(
        'unreachable',
        `Prometheus at ${origin} did not respond within ${timeoutMs} ms: check the address and that the server is up`,
        { cause: error },
      );
    }
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new PrometheusApiError(
      'unreachable',
      `cannot reach Prometheus at ${origin} (${detail}): check the address, or start the server or its port-forward`,
      { cause: error },
    );
  }
}

interface ApiBody {
  status?: unknown;
  error?: unknown;
  data?: unknown;
}

async function readJsonBody(response: Response, base: URL): Promise<ApiBody> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new PrometheusApiError(
      'not_prometheus',
      `${base.href} answered HTTP ${response.status} without a Prometheus API response: check that the URL points at Prometheus (and its route prefix, if any)`,
    );
  }
  if (typeof body !== 'object' || body === null || !('status' in body)) {
    throw new PrometheusApiError(
      'not_prometheus',
      `${base.href} answered HTTP ${response.status} with JSON that is not a Prometheus API response`,
    );
  }
  return body;
}

function parseResult(data: unknown, promql: string): VectorSample[] {
  const { resultType, result } = (data ?? {}) as { resultType?: unknown; result?: unknown };
  if (resultType === 'scalar' && Array.isArray(result)) {
    return [{ metric: {}, timestamp: Number(result[0]), value: Number(result[1]) }];
  }
  if (resultType !== 'vector' || !Array.isArray(result)) {
    throw new PrometheusApiError(
      'query_failed',
      `expected an instant vector, got ${String(resultType)}; query: ${promql}`,
    );
  }
  return (result as { metric: Record<string, string>; value: [number, string] }[]).map((item) => ({
    metric: item.metric,
    timestamp: Number(item.value[0]),
    value: Number(item.value[1]),
  }));
}
