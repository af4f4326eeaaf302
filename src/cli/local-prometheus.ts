/**
 * Runs a throwaway Prometheus server on 127.0.0.1 that scrapes one target every second.
 * The demo uses it, and test/support/prometheus.ts wraps it for the tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';

import {
  createPrometheusClient,
  type PrometheusClient,
  type VectorSample,
} from './prometheus-api.ts';

/** Message for a missing binary, shared by the demo and the tests. */
export const PROMETHEUS_INSTALL_HINT =
  'install it with `apt-get install prometheus` (Debian, Ubuntu) or download it from https://prometheus.io/download/';

/** Raised when no Prometheus binary exists at the given path or on PATH. */
export class PrometheusNotInstalledError extends Error {
  constructor(searched: string) {
    super(`Prometheus binary not found (looked for ${searched}): ${PROMETHEUS_INSTALL_HINT}`);
    this.name = 'PrometheusNotInstalledError';
  }
}

export interface LocalPrometheusOptions {
  /** The scrape target as host:port, for example 127.0.0.1:8080. */
  target: string;
  /** Path of the metrics endpoint on the target. @default '/metrics' */
  metricsPath?: string;
  /** Value of the job label of the target. The rules select `httpserver`. @default 'httpserver' */
  jobName?: string;
  /** Scrape and rule evaluation interval, in seconds. @default 1 */
  intervalSeconds?: number;
  /** Absolute paths of rule files to load. */
  ruleFiles?: string[];
  /** More scrape configurations, appended after the job of `target` as they are. */
  extraScrapeConfigs?: Record<string, unknown>[];
  /** Path of the prometheus binary. @default the first `prometheus` on PATH, else /usr/bin/prometheus */
  binary?: string;
  /** Pass --web.enable-lifecycle, which allows POST /-/reload and /-/quit. @default false */
  enableLifecycle?: boolean;
  /** Maximum time to wait for /-/ready, in ms. @default 30000 */
  readyTimeoutMs?: number;
}

/** A running Prometheus started by startLocalPrometheus. */
export interface LocalPrometheus {
  /** Base URL, for example http://127.0.0.1:41234/. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly jobName: string;
  /** Temporary directory with the generated configuration and the TSDB. */
  readonly directory: string;
  readonly client: PrometheusClient;
  /** Runs an instant query at `time` (Unix seconds, default now). */
  query(promql: string, time?: number): Promise<VectorSample[]>;
  /**
   * Waits until `count` more successful scrapes of the target are stored than when called.
   * With count >= 2, at least one of them started after the call, so it saw every request
   * that completed before the call.
   */
  waitForScrapes(count: number, timeoutMs?: number): Promise<void>;
  /** The last 64 KiB of Prometheus's log output, for failure messages. */
  logs(): string;
  /** Stops Prometheus (SIGTERM, then SIGKILL after 5 s) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Returns the path of the prometheus binary: `explicit` if given, else the first executable
 * `prometheus` on PATH, else /usr/bin/prometheus. Returns undefined when none is executable.
 */
export function findPrometheusBinary(explicit?: string): string | undefined {
  const candidates =
    explicit !== undefined
      ? [explicit]
      : [
          ...(process.env.PATH ?? '')
            .split(delimiter)
            .filter((dir) => dir !== '')
            .map((dir) => join(dir, 'prometheus')),
          '/usr/bin/prometheus',
        ];
  return candidates.find(isExecutable);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Returns a TCP port that was free on 127.0.0.1 a moment ago. */
export async function findFreePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no TCP address bound');
  return address.port;
}

/**
 * Starts Prometheus on 127.0.0.1 with a free port and a fresh temporary directory, scraping
 * `options.target`, and waits until /-/ready returns 200. Throws PrometheusNotInstalledError
 * when the binary is missing.
 */
export async function startLocalPrometheus(
  options: LocalPrometheusOptions,
): Promise<LocalPrometheus> {
  const binary = findPrometheusBinary(options.binary);
  if (binary === undefined) {
    throw new PrometheusNotInstalledError(
      options.binary ?? 'prometheus on PATH and /usr/bin/prometheus',
    );
  }

  const jobName = options.jobName ?? 'httpserver';
  const intervalSeconds = options.intervalSeconds ?? 1;
  const directory = mkdtempSync(join(tmpdir(), 'httpserver-prometheus-'));
  const configPath = join(directory, 'prometheus.yml');
  const config = {
    global: {
      scrape_interval: `${intervalSeconds}s`,
      scrape_timeout: `${intervalSeconds}s`,
      evaluation_interval: `${intervalSeconds}s`,
    },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: [
      {
        job_name: jobName,
        metrics_path: options.metricsPath ?? '/metrics',
        static_configs: [{ targets: [options.target] }],
      },
      ...(options.extraScrapeConfigs ?? []),
    ],
  };
  writeFileSync(configPath, stringify(config));

  // Another process can take the free port before Prometheus binds it, so retry a few times.
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const port = await findFreePort();
    try {
      return await launch({ binary, port, directory, configPath, jobName, options });
    } catch (error) {
      lastError = error;
      if (!(error instanceof PortInUseError)) break;
    }
  }
  rmSync(directory, { recursive: true, force: true });
  throw lastError;
}

class PortInUseError extends Error {}

interface LaunchParameters {
  binary: string;
  port: number;
  directory: string;
  configPath: string;
  jobName: string;
  options: LocalPrometheusOptions;
}

async function launch(parameters: LaunchParameters): Promise<LocalPrometheus> {
  const { binary, port, directory, configPath, jobName, options } = parameters;
  const args = [
    `--config.file=${configPath}`,
    `--storage.tsdb.path=${join(directory, `data-${port}`)}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ];
  if (options.enableLifecycle === true) args.push('--web.enable-lifecycle');

  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let logText = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    logText = (logText + chunk).slice(-65_536);
  });
  let spawnError: Error | undefined;
  child.on('error', (error) => {
    spawnError = error;
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));

  const url = `http://127.0.0.1:${port}/`;
  const client = createPrometheusClient(url);
  let stopped = false;

  // If this process exits without calling stop(), for example after an uncaught error,
  // Prometheus and its directory would outlive it.
  const killOnExit = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(directory, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    process.off('exit', killOnExit);
    await terminate(child, exited);
    rmSync(directory, { recursive: true, force: true });
  }

  try {
    await waitUntilReady(url, child, options.readyTimeoutMs ?? 30_000, () =>
      spawnError === undefined ? logText : `${spawnError.message}\n${logText}`,
    );
  } catch (error) {
    stopped = true;
    process.off('exit', killOnExit);
    await terminate(child, exited);
    rmSync(join(directory, `data-${port}`), { recursive: true, force: true });
    throw error;
  }

  async function successfulScrapes(): Promise<number> {
    const result = await client.query(`sum(sum_over_time(up{job="${jobName}"}[1d]))`);
    return result[0]?.value ?? 0;
  }

  async function waitForScrapes(count: number, timeoutMs?: number): Promise<void> {
    const interval = (options.intervalSeconds ?? 1) * 1000;
    const deadline = Date.now() + (timeoutMs ?? count * interval + 15_000);
    const baseline = await successfulScrapes();
    while (Date.now() < deadline) {
      if ((await successfulScrapes()) >= baseline + count) return;
      await sleep(100);
    }
    throw new Error(
      `Prometheus stored fewer than ${count} new successful scrapes of ${options.target} in time; ` +
        `check that the target serves ${options.metricsPath ?? '/metrics'}. Prometheus log:\n${logText}`,
    );
  }

  return {
    url,
    port,
    pid: child.pid ?? -1,
    jobName,
    directory,
    client,
    query: (promql, time) => client.query(promql, time),
    waitForScrapes,
    logs: () => logText,
    stop,
  };
}

async function waitUntilReady(
  url: string,
  child: ChildProcess,
  timeoutMs: number,
  logs: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
      const text = logs();
      if (text.includes('address already in use')) throw new PortInUseError(text);
      throw new Error(
        `Prometheus exited with code ${child.exitCode} before it was ready:\n${text}`,
      );
    }
    try {
      const response = await fetch(new URL('-/ready', url), { signal: AbortSignal.timeout(1_000) });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`Prometheus at ${url} was not ready within ${timeoutMs} ms:\n${logs()}`);
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.pid === undefined) return;
  if (child.exitCode !== null || child.signalCode !== null) {
    await exited;
    return;
  }
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
