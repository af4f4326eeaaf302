/** Label values that the request metrics may carry; anything else is a cardinality leak. */
export const ROUTE_TEMPLATES = new Set([
  '/',
  '/hello',
  '/healthz',
  '/readyz',
  '/metrics',
  '/version',
  '/status/:code',
  '/delay/:ms',
  'unmatched',
]);
export const METHOD_VALUES = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
  '_OTHER',
]);

/**
 * Fetches /metrics and returns the series of the request metrics (`http_server_*` and
 * `httpserver_*`) as `name{labels}` strings, without values. Runtime metrics are left out
 * because their series legitimately appear over time (a first major GC, say).
 */
export async function requestSeries(baseUrl: string): Promise<Set<string>> {
  const response = await fetch(`${baseUrl}/metrics`);
  const text = await response.text();
  const series = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('http_server_') && !line.startsWith('httpserver_')) continue;
    series.add(line.slice(0, line.lastIndexOf(' ')));
  }
  return series;
}

/** Parses the labels of a `name{a="1",b="2"}` series string. */
export function seriesLabels(series: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of series.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
    labels[match[1] ?? ''] = match[2] ?? '';
  }
  return labels;
}

/** Returns the series whose labels fall outside the fixed vocabulary, for a readable failure. */
export function seriesOutsideVocabulary(
  series: Iterable<string>,
  statuses: ReadonlySet<number>,
): string[] {
  const outside: string[] = [];
  for (const entry of series) {
    const labels = seriesLabels(entry);
    const method = labels.http_request_method;
    const route = labels.http_route;
    const status = labels.http_response_status_code;
    const scheme = labels.url_scheme;
    if (
      (method !== undefined && !METHOD_VALUES.has(method)) ||
      (route !== undefined && !ROUTE_TEMPLATES.has(route)) ||
      (status !== undefined && !statuses.has(Number(status))) ||
      (scheme !== undefined && scheme !== 'http')
    ) {
      outside.push(entry);
    }
  }
  return outside;
}
