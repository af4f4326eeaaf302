// Runs wrk (a C load generator, in its own process) and parses the JSON line that
// wrk-report.lua prints.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

const REPORT_SCRIPT = resolve(import.meta.dirname, 'wrk-report.lua');

/** wrk's summary of one closed-loop run. */
export interface LoadResult {
  requestsPerSecond: number;
  requests: number;
  /** Socket errors plus responses with status 400 or above. */
  errors: number;
  /** Connect, read and write errors and timeouts. */
  socketErrors: number;
  /** Responses with status 400 or above. */
  errorResponses: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Server CPU time (user + system) per request in microseconds, set by the caller. */
  cpuUsPerRequest?: number;
}

/** Options of one wrk run. */
export interface LoadOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  /** wrk threads. One is enough for a single-core Node server. */
  threads?: number;
  /** CPU list for taskset, or undefined to leave wrk unpinned. */
  cpuList?: string | undefined;
  /**
   * Lua script that replaces the report script. It must print the same JSON line, for
   * example by loading the report script from the WRK_REPORT_SCRIPT variable.
   */
  script?: string;
}

interface WrkReport {
  requests: number;
  durationUs: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { p50: number; p90: number; p99: number; max: number };
}

/** Runs wrk once. Rejects when wrk is missing, fails, or prints no report. */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const wrkArgs = [
    `-t${options.threads ?? 1}`,
    `-c${options.connections}`,
    `-d${options.durationSeconds}s`,
    '--timeout',
    '5s',
    '-s',
    options.script ?? REPORT_SCRIPT,
    options.url,
  ];
  const command = options.cpuList === undefined ? 'wrk' : 'taskset';
  const args = options.cpuList === undefined ? wrkArgs : ['-c', options.cpuList, 'wrk', ...wrkArgs];
  // wrk stops by itself after the duration, so the timeout only guards against a hang.
  const timeoutMs = (options.durationSeconds + 30) * 1_000;

  return new Promise((resolvePromise, reject) => {
    const env = { ...process.env, WRK_REPORT_SCRIPT: REPORT_SCRIPT };
    execFile(command, args, { timeout: timeoutMs, env }, (error, stdout, stderr) => {
      if (error) {
        reject(
          new Error(
            `wrk failed (is it installed? apt-get install wrk): ${error.message}\n${stderr}`,
          ),
        );
        return;
      }
      try {
        resolvePromise(parseWrkReport(stdout));
      } catch (parseError) {
        reject(parseError instanceof Error ? parseError : new Error(String(parseError)));
      }
    });
  });
}

/** Converts the JSON line printed by wrk-report.lua into a LoadResult. */
export function parseWrkReport(stdout: string): LoadResult {
  const line = stdout
    .split('\n')
    .reverse()
    .find((candidate) => candidate.startsWith('{'));
  if (line === undefined) throw new Error(`wrk printed no JSON report:\n${stdout}`);
  const report = JSON.parse(line) as WrkReport;
  const { connect, read, write, status, timeout } = report.errors;
  return {
    requestsPerSecond: report.requests / (report.durationUs / 1e6),
    requests: report.requests,
    errors: connect + read + write + status + timeout,
    socketErrors: connect + read + write + timeout,
    errorResponses: status,
    p50Ms: report.latencyUs.p50 / 1_000,
    p90Ms: report.latencyUs.p90 / 1_000,
    p99Ms: report.latencyUs.p99 / 1_000,
    maxMs: report.latencyUs.max / 1_000,
  };
}
