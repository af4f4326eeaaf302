import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';

import { afterAll, describe, expect, it } from 'vitest';

import { startService, stopAllServices, type RunningService } from '../support/process.ts';
import { header, openSocket, parseResponses, type RawResponse } from './raw-http.ts';

afterAll(stopAllServices);

/** What happened to one request of the load generator or the keep-alive client. */
interface Outcome {
  /** Start time relative to SIGTERM, in milliseconds; -1 before it. */
  readonly sinceSignalMs: number;
  /** Started after SIGTERM was sent. */
  readonly afterSignal: boolean;
  status?: number;
  connection?: string;
  /** The response head arrived; an error after this point is a reset mid-response. */
  headReceived: boolean;
  bodyComplete: boolean;
  error?: string;
  /** Time of the error relative to SIGTERM, in milliseconds. */
  errorAtMs?: number;
}

const IN_FLIGHT = 200;
const ROUNDS = 10;
const SHUTDOWN_DELAY_MS = 300;
const SHUTDOWN_TIMEOUT_MS = 5_000;
const KEEP_ALIVE_INTERVAL_MS = 20;
// Bounds for each round: no generator runs longer, or starts more requests, than this.
const ROUND_DEADLINE_MS = 8_000;
const MAX_REQUESTS_PER_ROUND = 5_000;
// Slack between a logged phase time and what clients see, in wall-clock ms. On a busy CPU the
// process can be descheduled between closing the listener and writing the log line (13 ms was
// seen). The resets this test must catch came 4 to 19 ms after SIGTERM, far from any close.
const CLOCK_SLACK_MS = 50;

/** Wall-clock time of SIGTERM in the current round, for outcome timestamps. */
let signalWallMs = Number.POSITIVE_INFINITY;

function send(agent: Agent, port: number, path: string, outcome: Outcome): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      outcome.headReceived = true;
      outcome.status = res.statusCode;
      outcome.connection = res.headers.connection;
      res.resume();
      res.on('end', () => {
        outcome.bodyComplete = true;
        resolve();
      });
      res.on('error', (error: NodeJS.ErrnoException) => {
        outcome.error = error.code ?? error.message;
        outcome.errorAtMs = Date.now() - signalWallMs;
        resolve();
      });
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      outcome.error ??= error.code ?? error.message;
      outcome.errorAtMs ??= Date.now() - signalWallMs;
      resolve();
    });
    req.end();
  });
}

/** When the service logged each shutdown phase, relative to SIGTERM, in milliseconds. */
interface Phases {
  readonly shutdownAtMs: number;
  readonly closedAtMs: number;
}

/**
 * Returns a description of every outcome that breaks the drain contract, empty when none.
 *
 * One reset is outside the server's control: a connection that the kernel completed but Node
 * had not accepted yet is reset when the listening socket closes (Linux resets its accept
 * queue). Such a reset carries no response byte and happens at the close, never before it.
 * Node normally accepts within milliseconds, but on a CPU shared with other busy processes a
 * connection opened even before SIGTERM can still be waiting at the close.
 */
function violations(outcomes: readonly Outcome[], phases: Phases): string[] {
  const { shutdownAtMs, closedAtMs } = phases;
  const found: string[] = [];
  for (const outcome of outcomes) {
    const describe = JSON.stringify(outcome);
    const resetAtClose =
      outcome.error === 'ECONNRESET' &&
      !outcome.headReceived &&
      (outcome.errorAtMs ?? 0) >= closedAtMs - CLOCK_SLACK_MS;

    if (outcome.headReceived && !outcome.bodyComplete) {
      found.push(`reset mid-response: ${describe}`);
    } else if (resetAtClose) {
      continue;
    } else if (!outcome.afterSignal && (outcome.status !== 200 || !outcome.bodyComplete)) {
      found.push(`started before SIGTERM but not served: ${describe}`);
    } else if (outcome.afterSignal && outcome.headReceived) {
      // The signal takes a moment to arrive; from "shutdown started" on, responses close.
      const closeRequired = outcome.sinceSignalMs > shutdownAtMs + CLOCK_SLACK_MS;
      if (outcome.status !== 200 || (closeRequired && outcome.connection !== 'close')) {
        found.push(`served after shutdown started without Connection: close: ${describe}`);
      }
    } else if (outcome.afterSignal && outcome.error !== 'ECONNREFUSED') {
      found.push(`not a clean refusal: ${describe}`);
    }
  }
  return found;
}

async function runRound(): Promise<{
  service: RunningService;
  load: Outcome[];
  keepAlive: Outcome[];
  exitCode: number | null;
  exitMs: number;
  phases: Phases;
}> {
  const service = await startService({
    env: {
      DELAY_MIN_MS: '100',
      DELAY_MAX_MS: '400',
      SHUTDOWN_DELAY_MS: String(SHUTDOWN_DELAY_MS),
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    },
  });
  const loadAgent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const keepAliveAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const load: Outcome[] = [];
  const keepAlive: Outcome[] = [];
  const started = performance.now();
  let signalAt = Number.POSITIVE_INFINITY;
  let exited = false;
  const done = service.exited.then(() => {
    exited = true;
  });

  const running = (count: number): boolean =>
    !exited && count < MAX_REQUESTS_PER_ROUND && performance.now() - started < ROUND_DEADLINE_MS;
  const newOutcome = (): Outcome => {
    const now = performance.now();
    return {
      sinceSignalMs: Number.isFinite(signalAt) ? Math.round(now - signalAt) : -1,
      afterSignal: now >= signalAt,
      headReceived: false,
      bodyComplete: false,
    };
  };

  // Each worker keeps one /hello in flight, back to back, until the process exits.
  const workers = Array.from({ length: IN_FLIGHT }, async () => {
    while (running(load.length)) {
      const outcome = newOutcome();
      load.push(outcome);
      await send(loadAgent, service.port, '/hello', outcome);
      if (outcome.error === 'ECONNREFUSED') return;
    }
  });
  const keepAliveClient = (async () => {
    while (running(keepAlive.length)) {
      const outcome = newOutcome();
      keepAlive.push(outcome);
      await Promise.all([
        send(keepAliveAgent, service.port, '/version', outcome),
        new Promise((resolve) => setTimeout(resolve, KEEP_ALIVE_INTERVAL_MS)),
      ]);
      if (outcome.error === 'ECONNREFUSED') return;
    }
  })();

  // Let every worker get a request in flight (the delay is at least 100 ms), then signal.
  await new Promise((resolve) => setTimeout(resolve, 250));
  signalAt = performance.now();
  signalWallMs = Date.now();
  service.child.kill('SIGTERM');
  const { code } = await service.exited;
  const exitMs = performance.now() - signalAt;
  await done;
  await Promise.all([...workers, keepAliveClient]);
  loadAgent.destroy();
  keepAliveAgent.destroy();

  const loggedAt = (msg: string): number => {
    const line = service.logs().find((entry) => entry.msg === msg);
    return Date.parse(String(line?.time)) - signalWallMs;
  };
  const phases = {
    shutdownAtMs: loggedAt('shutdown started'),
    closedAtMs: loggedAt('listener closed, draining'),
  };
  return { service, load, keepAlive, exitCode: code, exitMs, phases };
}

describe('SIGTERM under load', () => {
  it(`drains ${IN_FLIGHT} in-flight requests cleanly, ${ROUNDS} rounds`, async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const { service, load, keepAlive, exitCode, exitMs, phases } = await runRound();
      const beforeSignal = load.filter((outcome) => !outcome.afterSignal);

      expect(
        phases.closedAtMs,
        `round ${round}: listener closed after the delay`,
      ).toBeGreaterThanOrEqual(SHUTDOWN_DELAY_MS - CLOCK_SLACK_MS);
      const label = `round ${round} (shutdown at ${phases.shutdownAtMs} ms, listener closed at ${phases.closedAtMs} ms)`;
      expect.soft(violations(load, phases), `${label}: load generator`).toEqual([]);
      expect.soft(violations(keepAlive, phases), `round ${round}: keep-alive client`).toEqual([]);
      expect(
        beforeSignal.length,
        `round ${round}: requests in flight at SIGTERM`,
      ).toBeGreaterThanOrEqual(IN_FLIGHT);
      expect(exitCode, `round ${round}: exit code`).toBe(0);
      expect(exitMs, `round ${round}: exit time`).toBeLessThan(
        SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS,
      );
      expect(service.nonJsonLines()).toEqual([]);
      expect(service.stderr()).toBe('');
    }
  }, 90_000);
});

/** Sends one request on an open socket and resolves with the first response, if any. */
function exchangeOn(
  socket: Socket,
  text: string,
): Promise<{ response?: RawResponse; error?: string }> {
  return new Promise((resolve) => {
    if (socket.destroyed || socket.readyState !== 'open') {
      resolve({ error: 'closed by the server before the request' });
      return;
    }
    let raw = '';
    const timer = setTimeout(() => finish('no response within 5 s'), 5_000);
    const finish = (error?: string): void => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      const [response] = parseResponses(raw);
      resolve(error === undefined ? { response } : { response, error });
    };
    socket.on('data', (chunk: Buffer) => {
      raw += chunk.toString('latin1');
      if (parseResponses(raw).length > 0) finish();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
    socket.on('close', () => finish(raw === '' ? 'closed without a response' : undefined));
    socket.write(text);
  });
}

describe('idle keep-alive connection at shutdown', () => {
  const REQUEST = 'GET /hello HTTP/1.1\r\nHost: x\r\n\r\n';

  it('serves it during the delay', async () => {
    const service = await startService({ env: { DELAY_MAX_MS: '0', SHUTDOWN_DELAY_MS: '1000' } });
    const socket = await openSocket(service.port);
    const first = await exchangeOn(socket, REQUEST);
    expect(header(first.response!, 'connection')).toBe('keep-alive');

    service.child.kill('SIGTERM');
    await service.waitForLog((line) => line.msg === 'shutdown started');
    // Another response completes while this connection is idle between requests.
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = await exchangeOn(socket, REQUEST);

    expect(second.error).toBeUndefined();
    expect(second.response?.status).toBe(200);
    expect(header(second.response!, 'connection')).toBe('close');
    expect((await service.exited).code).toBe(0);
  });

  it('serves it right after the listener closed', async () => {
    const service = await startService({ env: { DELAY_MAX_MS: '0', SHUTDOWN_DELAY_MS: '300' } });
    const socket = await openSocket(service.port);
    await exchangeOn(socket, REQUEST);

    service.child.kill('SIGTERM');
    await service.waitForLog((line) => line.msg === 'listener closed, draining');
    const second = await exchangeOn(socket, REQUEST);

    expect(second.error).toBeUndefined();
    expect(second.response?.status).toBe(200);
    expect(header(second.response!, 'connection')).toBe('close');
    expect((await service.exited).code).toBe(0);
  });
});
