import type { Attributes, Histogram, Meter } from '@opentelemetry/api';

import { COURSE_LATENCY_BUCKETS_S, REQUEST_DURATION_BUCKETS_S } from './buckets.ts';

/** Methods that keep their name in http.request.method; the rest become `_OTHER`. */
const KNOWN_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
]);

/** http.route of every request that matched no route, so raw paths never become labels. */
export const UNMATCHED_ROUTE = 'unmatched';

// Bounds the attribute-set cache. Real keys are few (methods x routes x statuses x schemes),
// but a cap keeps a surprise from growing memory.
const MAX_CACHED_ATTRIBUTE_SETS = 4_096;

/** Maps a request method to its http.request.method value, as the semantic conventions ask. */
export function normalizeMethod(method: string): string {
  return KNOWN_METHODS.has(method) ? method : '_OTHER';
}

/** The instruments that requests feed; `noop` when telemetry is switched off. */
export interface RequestMetrics {
  /** Counts a request in flight (http.server.active_requests). */
  requestStarted(method: string, scheme: string): void;
  /** Ends a request: active count down, and one http.server.request.duration observation. */
  requestFinished(
    method: string,
    scheme: string,
    route: string,
    status: number,
    durationS: number,
  ): void;
  /** Records the time /hello took, delay included, in the course histogram. */
  helloObserved(durationS: number): void;
}

export const noopRequestMetrics: RequestMetrics = Object.freeze({
  requestStarted() {},
  requestFinished() {},
  helloObserved() {},
});

/**
 * Creates every instrument the request path records into, on the given meter.
 *
 * Readers: the Grafana latency heatmap and quantile panels, the recording rules and the
 * latency and error-ratio alerts read `http_server_request_duration`. The course's PromQL reads
 * `httpserver_execution_latency_seconds`, and the in-flight panel reads
 * `http_server_active_requests`.
 */
export function createRequestMetrics(meter: Meter): RequestMetrics {
  // The name already ends in _seconds because the Prometheus exporter adds no unit suffix,
  // and the course's queries use exactly this name.
  const helloLatency: Histogram = meter.createHistogram('httpserver_execution_latency_seconds', {
    description: 'Time /hello took to respond, random delay included.',
    unit: 's',
    advice: { explicitBucketBoundaries: [...COURSE_LATENCY_BUCKETS_S] },
  });
  const requestDuration: Histogram = meter.createHistogram('http.server.request.duration', {
    description: 'Duration of HTTP server requests, except /metrics and the health probes.',
    unit: 's',
    advice: { explicitBucketBoundaries: [...REQUEST_DURATION_BUCKETS_S] },
  });
  // In-flight counts live here and are read at collection time: an observable instrument
  // costs nothing per request, where an UpDownCounter would record twice per request.
  const inFlight = new Map<string, { attributes: Attributes; count: number }>();
  meter
    .createObservableUpDownCounter('http.server.active_requests', {
      description: 'Number of HTTP server requests in flight.',
      unit: '{request}',
    })
    .addCallback((result) => {
      for (const { attributes, count } of inFlight.values()) result.observe(count, attributes);
    });

  // Keys are the normalized method and the scheme, so at most 20 entries ever exist.
  function inFlightEntry(method: string, scheme: string): { count: number } {
    const normalized = normalizeMethod(method);
    const key = scheme === 'https' ? `${normalized} https` : normalized;
    let entry = inFlight.get(key);
    if (entry === undefined) {
      entry = {
        attributes: Object.freeze({ 'http.request.method': normalized, 'url.scheme': scheme }),
        count: 0,
      };
      inFlight.set(key, entry);
    }
    return entry;
  }

  const durationAttributes = new Map<string, Attributes>();

  function durationAttributesFor(
    method: string,
    scheme: string,
    route: string,
    status: number,
  ): Attributes {
    const key = `${method} ${scheme} ${route} ${status}`;
    let attributes = durationAttributes.get(key);
    if (attributes === undefined) {
      const base: Attributes = {
        'http.request.method': normalizeMethod(method),
        'http.route': route,
        'http.response.status_code': status,
        'url.scheme': scheme,
      };
      // The semantic conventions set error.type on server errors only; for an HTTP status
      // the value is the status code as a string.
      if (status >= 500) base['error.type'] = String(status);
      attributes = Object.freeze(base);
      if (durationAttributes.size < MAX_CACHED_ATTRIBUTE_SETS) {
        durationAttributes.set(key, attributes);
      }
    }
    return attributes;
  }

  return {
    requestStarted(method, scheme) {
      inFlightEntry(method, scheme).count += 1;
    },
    requestFinished(method, scheme, route, status, durationS) {
      inFlightEntry(method, scheme).count -= 1;
      requestDuration.record(durationS, durationAttributesFor(method, scheme, route, status));
    },
    helloObserved(durationS) {
      helloLatency.record(durationS);
    },
  };
}
