import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** Repository root, so tests work from any working directory. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** One parsed JSON log line. */
export type LogLine = Record<string, unknown>;

export interface StartOptions {
  /** Extra environment; PORT defaults to 0 and SHUTDOWN_DELAY_MS to 0. */
  readonly env?: Record<string, string>;
  /** Entry point relative to the repository root: src/server.ts or dist/server.js. */
  readonly entry?: string;
  /** How long to wait for the "server started" line. */
  readonly startTimeoutMs?: number;
}

export interface RunningService {
  readonly url: string;
  readonly port: number;
  /** URL of the METRICS_PORT listener, when one was asked for. */
  readonly metricsUrl: string | undefined;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Every JSON line written to stdout so far. */
  logs(): LogLine[];
  /** Lines of stdout that were not JSON objects (should stay empty). */
  nonJsonLines(): string[];
  /** Text written to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or null when killed by a signal) and the signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends the signal and waits for the exit; SIGKILLs after timeoutMs. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /** Waits until a log line satisfies the predicate. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
}

/** Every service started by startService and not yet exited, for cleanup in afterAll. */
const running = new Set<RunningService>();

/**
 * Spawns the service with Node 24 on a free port and waits for its "server started" line.
 * The port is read from that line, so parallel tests never collide.
 */
export async function startService(options: StartOptions = {}): Promise<RunningService> {
  const entry = options.entry ?? 'src/server.ts';
  const child = spawn(process.execPath, [entry], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      SHUTDOWN_DELAY_MS: '0',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  const lines: LogLine[] = [];
  const nonJson: string[] = [];
  let stderrText = '';
  let partial = '';
  const waiters: Array<{ predicate: (line: LogLine) => boolean; resolve: (l: LogLine) => void }> =
    [];

  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const text of parts) {
      if (text.trim() === '') continue;
      let line: LogLine;
      try {
        const parsed: unknown = JSON.parse(text);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          nonJson.push(text);
          continue;
        }
        line = parsed as LogLine;
      } catch {
        nonJson.push(text);
        continue;
      }
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderrText += chunk;
  });

  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));

  function waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const found = lines.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `no matching log line within ${timeoutMs} ms; stdout so far:\n` +
              lines.map((l) => JSON.stringify(l)).join('\n') +
              `\nstderr:\n${stderrText}`,
          ),
        );
      }, timeoutMs);
      waiters.push({
        predicate,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(
          new Error(
            `service exited (code ${code}, signal ${signal}) before the expected log line; stderr:\n${stderrText}\nstdout:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`,
          ),
        );
      });
    });
  }

  const started = await waitForLog(
    (line) => line.msg === 'server started',
    options.startTimeoutMs ?? 15_000,
  );
  const port = started.port as number;
  const metricsPort = started.metrics_port as number | null;

  const service: RunningService = {
    url: `http://127.0.0.1:${port}`,
    port,
    metricsUrl: metricsPort === null ? undefined : `http://127.0.0.1:${metricsPort}`,
    pid: child.pid ?? -1,
    child,
    logs: () => [...lines],
    nonJsonLines: () => [...nonJson],
    stderr: () => stderrText,
    exited,
    waitForLog,
    async stop(signal = 'SIGTERM', timeoutMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) {
        running.delete(service);
        return child.exitCode;
      }
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const { code } = await exited;
      clearTimeout(timer);
      running.delete(service);
      return code;
    },
  };
  running.add(service);
  void exited.then(() => running.delete(service));
  return service;
}

/** Kills every service this file started that is still running; for afterAll hooks. */
export async function stopAllServices(): Promise<void> {
  await Promise.all([...running].map((service) => service.stop('SIGKILL', 1_000)));
}
