import { describe, expect, it } from 'vitest';

import { findReportedPort } from '../../bench/server-process.ts';
import { linearFit, median, quantile } from '../../bench/stats.ts';
import { parseWrkReport } from '../../bench/wrk.ts';

describe('median and quantile', () => {
  it('median of odd and even counts', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('quantile interpolates between ranks', () => {
    expect(quantile([0, 10], 0.9)).toBeCloseTo(9);
    expect(quantile([1, 2, 3, 4, 5], 0)).toBe(1);
    expect(quantile([1, 2, 3, 4, 5], 1)).toBe(5);
  });

  it('empty list gives NaN', () => {
    expect(median([])).toBeNaN();
  });
});

describe('linearFit', () => {
  it('recovers slope and intercept', () => {
    const fit = linearFit([0, 1, 2, 3], [1, 3, 5, 7]);
    expect(fit.slope).toBeCloseTo(2);
    expect(fit.intercept).toBeCloseTo(1);
  });

  it('flat series has zero slope', () => {
    expect(linearFit([0, 10, 20], [7, 7, 7]).slope).toBe(0);
  });

  it('rejects fewer than two points', () => {
    expect(() => linearFit([1], [1])).toThrow(/two or more points/);
  });
});

describe('findReportedPort', () => {
  it('reads the port from the started line', () => {
    const log = [
      '{"level":"info","msg":"Server listening"}',
      '{"msg":"server started","port":41234,"config":{"port":0}}',
    ].join('\n');
    expect(findReportedPort(log)).toBe(41234);
  });

  it('ignores a partly written line', () => {
    expect(findReportedPort('{"msg":"server started","po')).toBeUndefined();
  });
});

describe('parseWrkReport', () => {
  it('converts microseconds and sums errors', () => {
    const stdout = [
      'Running 10s test @ http://127.0.0.1:1/hello',
      '{"requests":1000,"durationUs":2000000,"bytes":1,"errors":{"connect":1,"read":2,"write":0,"status":3,"timeout":4},"latencyUs":{"p50":1500,"p90":2000,"p99":9000,"max":12000,"mean":1600.5}}',
    ].join('\n');
    const result = parseWrkReport(stdout);
    expect(result.requestsPerSecond).toBe(500);
    expect(result.p50Ms).toBe(1.5);
    expect(result.p99Ms).toBe(9);
    expect(result.socketErrors).toBe(7);
    expect(result.errorResponses).toBe(3);
    expect(result.errors).toBe(10);
  });

  it('rejects output without a report', () => {
    expect(() => parseWrkReport('unable to connect')).toThrow(/no JSON report/);
  });
});
