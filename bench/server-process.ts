// Starts a target as its own process, finds its port, waits for readiness, and stops it.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { httpGet } from './http-client.ts';
import type { Target } from './targets.ts';

/** Directory for the targets' stdout and stderr, one file per process. */
export const LOG_DIR = resolve(import.meta.dirname, '../node_modules/.cache/bench-logs');

const START_TIMEOUT_MS = 20_000;
const POLL_INTERVAL_MS = 2;
const STOP_TIMEOUT_MS = 5_000;

/** A started target. */
export interface RunningServer {
  target: Target;
  pid: number;
  port: number;
  baseUrl: string;
  logPath: string;
  /** Milliseconds from spawn to the first 200 on the target's ready path. */
  coldStartMs: number;
  stop(): Promise<void>;
}

/** Options for startServer. */
export interface StartOptions {
  /** CPU list for taskset (for example "0"), or undefined to leave the process unpinned. */
  cpuList?: string | undefined;
  /** Variables that override the target's own environment. */
  env?: Record<string, string>;
  /** Suffix of the log file name, so repeated starts keep separate logs. */
  logSuffix?: string;
}

/**
 * Spawns the target with PORT=0 on 127.0.0.1, its stdout and stderr going to a file.
 * Reads the bound port from the "server started" line, then polls the ready path.
 * Throws with the end of the log when the process exits or is not ready in time.
 */
export async function startServer(
  target: Target,
  options: StartOptions = {},
): Promise<RunningServer> {
  mkdirSync(LOG_DIR, { recursive: true });
  const logPath = resolve(LOG_DIR, `${target.name}${options.logSuffix ?? ''}.log`);
  const logFd = openSync(logPath, 'w');

  const nodeArgs = [target.entry];
  const command = options.cpuList === undefined ? process.execPath : 'taskset';
  const args =
    options.cpuList === undefined
      ? nodeArgs
      : ['-c', options.cpuList, process.execPath, ...nodeArgs];
  const env = { ...process.env, ...target.env, PORT: '0', HOST: '127.0.0.1', ...options.env };

  const spawnedAt = performance.now();
  const child = spawn(command, args, { env, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);

  let exited = false;
  child.once('exit', () => {
    exited = true;
  });

  try {
    const port = await waitForPort(logPath, () => exited);
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitForStatus200(`${baseUrl}${target.readyPath}`, () => exited);
    const coldStartMs = performance.now() - spawnedAt;
    if (child.pid === undefined) throw new Error(`${target.name} has no pid`);
    return {
      target,
      pid: child.pid,
      port,
      baseUrl,
      logPath,
      coldStartMs,
      stop: () => stopChild(child),
    };
  } catch (error) {
    await stopChild(child);
    throw new Error(`${target.name} failed to start: ${String(error)}\n${readLogTail(logPath)}`, {
      cause: error,
    });
  }
}

async function waitForPort(logPath: string, hasExited: () => boolean): Promise<number> {
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (hasExited()) throw new Error('process exited before it reported a port');
    const port = findReportedPort(readFileSync(logPath, 'utf8'));
    if (port !== undefined) return port;
    await sleep(POLL_INTERVAL_MS);
  }
  throw new Error(`no "server started" line within ${START_TIMEOUT_MS} ms`);
}

/** Port from the first JSON line whose msg is "server started", if any. */
export function findReportedPort(log: string): number | undefined {
  for (const line of log.split('\n')) {
    if (!line.includes('server started')) continue;
    try {
      const parsed = JSON.parse(line) as { msg?: unknown; port?: unknown };
      if (parsed.msg === 'server started' && typeof parsed.port === 'number') return parsed.port;
    } catch {
      // A partly written line: the next poll reads it whole.
    }
  }
  return undefined;
}

async function waitForStatus200(url: string, hasExited: () => boolean): Promise<void> {
  const deadline = performance.now() + START_TIMEOUT_MS;
  let lastProblem = 'no request sent';
  while (performance.now() < deadline) {
    if (hasExited()) throw new Error('process exited before it was ready');
    try {
      const { status } = await httpGet(url, { timeoutMs: 1_000 });
      if (status === 200) return;
      lastProblem = `status ${status}`;
    } catch (error) {
      lastProblem = String(error);
    }
    await sleep(POLL_INTERVAL_MS);
  }
  throw new Error(`${url} not 200 within ${START_TIMEOUT_MS} ms (last: ${lastProblem})`);
}

/** Sends SIGTERM, then SIGKILL after STOP_TIMEOUT_MS. Resolves once the process has exited. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolvePromise();
    });
    child.kill('SIGTERM');
  });
}

function readLogTail(logPath: string): string {
  try {
    return readFileSync(logPath, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}
