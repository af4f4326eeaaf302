/**
 * Bucket boundaries of the course histogram: 0.001 * 2^k seconds for k = 0..14, the
 * exponential buckets the original Go httpserver registered, so its PromQL keeps working.
 */
export const COURSE_LATENCY_BUCKETS_S: readonly number[] = Object.freeze(
  Array.from({ length: 15 }, (_, k) => 0.001 * 2 ** k),
);

/**
 * Bucket boundaries of http.server.request.duration, in seconds.
 *
 * histogram_quantile interpolates linearly inside the bucket that contains the quantile, so an
 * estimate can be off by up to that bucket's width. Steps of 100 ms from 0.1 to 2.5 s cap the
 * error at 100 ms over the whole /hello delay range, and for its uniform 0-2 s delay the
 * interpolation is unbiased, so p50, p90 and p99 land within a few percent of the client-side
 * quantiles (a test checks this on a real Prometheus). The OpenTelemetry advisory boundaries
 * (0.005 ... 10) put all of 1-2.5 s in one bucket. Fine steps below 100 ms serve fast routes;
 * 5, 7.5 and 10 s cover /delay/:ms.
 */
export const REQUEST_DURATION_BUCKETS_S: readonly number[] = Object.freeze([
  0.005,
  0.01,
  0.025,
  0.05,
  0.075,
  ...Array.from({ length: 25 }, (_, i) => Math.round((0.1 + i * 0.1) * 10) / 10),
  3,
  4,
  5,
  7.5,
  10,
]);
