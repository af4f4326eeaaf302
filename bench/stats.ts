// Small statistics helpers for the bench runner and the soak script.

/** Median of the values, or NaN for an empty list. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Quantile q (0..1) interpolated between the closest ranks, or NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const lowerValue = sorted[lower] ?? Number.NaN;
  const upperValue = sorted[upper] ?? Number.NaN;
  return lowerValue + (upperValue - lowerValue) * (position - lower);
}

/** Least-squares line through the points, with the slope in y units per x unit. */
export function linearFit(
  xs: readonly number[],
  ys: readonly number[],
): { slope: number; intercept: number } {
  if (xs.length !== ys.length || xs.length < 2) {
    throw new Error(
      `linearFit needs two or more points of equal count, got ${xs.length}/${ys.length}`,
    );
  }
  const meanX = xs.reduce((sum, x) => sum + x, 0) / xs.length;
  const meanY = ys.reduce((sum, y) => sum + y, 0) / ys.length;
  let covariance = 0;
  let varianceX = 0;
  for (let i = 0; i < xs.length; i++) {
    const dx = (xs[i] ?? 0) - meanX;
    covariance += dx * ((ys[i] ?? 0) - meanY);
    varianceX += dx * dx;
  }
  const slope = varianceX === 0 ? 0 : covariance / varianceX;
  return { slope, intercept: meanY - slope * meanX };
}
