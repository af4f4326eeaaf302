import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Config } from '../config/config.ts';
import type { NodeServer } from '../http/node-server.ts';
import { flushAndExit, type Logger } from '../telemetry/logger.ts';
import type { Telemetry } from '../telemetry/telemetry.ts';
import type { ReadinessState } from './readiness-state.ts';

// Upper bound on the final telemetry flush, so an unreachable exporter cannot eat the rest of
// the pod's grace period.
const TELEMETRY_FLUSH_TIMEOUT_MS = 5_000;

// How often the drain closes idle keep-alive connections, the first time only after this
// long. A client may be sending its next request on one as the listener closes, and the wait
// lets that request be served with Connection: close instead of meeting a closed socket.
const IDLE_SWEEP_INTERVAL_MS = 250;

export interface ShutdownDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly telemetry: Telemetry;
  readonly readiness: ReadinessState;
  readonly app: NodeServer;
  /** The METRICS_PORT listener, closed last so a final scrape can still land. */
  readonly metricsServer?: Server;
  /** Ends the process; process.exit outside tests. */
  readonly exit: (code: number) => void;
}

/**
 * Stops accepting connections and resolves once every open connection has closed.
 *
 * http.Server#close would also close every idle keep-alive connection at once (Node 19 and
 * later), racing clients that are sending their next request on one. The drain sweeps idle
 * connections itself, after a wait.
 */
function stopListening(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    NetServer.prototype.close.call(server, () => resolve());
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}

/**
 * Creates the shutdown sequence, run once on the first SIGTERM or SIGINT:
 *
 * 1. readiness fails at once, so Kubernetes takes the pod out of Service endpoints;
 * 2. the server keeps serving for SHUTDOWN_DELAY_MS while that news spreads to kube-proxy and
 *    ingress controllers (Knative's queue-proxy drains before the container gets SIGTERM, so
 *    Knative manifests set this delay low);
 * 3. the listener stops accepting; every response since step 1 carries `Connection: close`,
 *    and idle connections are closed every IDLE_SWEEP_INTERVAL_MS, starting one interval
 *    after the listener closed;
 * 4. in-flight requests get SHUTDOWN_TIMEOUT_MS to finish, after which the rest are cut;
 * 5. telemetry is flushed and shut down, and the process exits 0, or 1 if requests were cut.
 *
 * The pod's terminationGracePeriodSeconds must exceed the delay plus the timeout plus the
 * flush, or the kubelet's SIGKILL lands first. A second signal exits 1 at once.
 */
export function createShutdown(deps: ShutdownDeps): (signal: string) => Promise<void> {
  const { config, logger, telemetry, readiness, app, metricsServer, exit } = deps;
  let running: Promise<void> | undefined;

  return (signal) => {
    if (running !== undefined) {
      logger.warn({ signal }, 'second signal received, exiting at once');
      exit(1);
      return running;
    }

    running = (async () => {
      readiness.beginShutdown();
      logger.info(
        {
          signal,
          shutdown_delay_ms: config.shutdownDelayMs,
          shutdown_timeout_ms: config.shutdownTimeoutMs,
          in_flight: app.inFlight(),
        },
        'shutdown started',
      );

      await sleep(config.shutdownDelayMs);

      const drained = stopListening(app.server);
      logger.info({ in_flight: app.inFlight() }, 'listener closed, draining');
      const sweep = setInterval(() => app.server.closeIdleConnections(), IDLE_SWEEP_INTERVAL_MS);

      const timeout = new AbortController();
      const timedOut = sleep(config.shutdownTimeoutMs, 'timeout' as const, {
        signal: timeout.signal,
      }).catch(() => 'cancelled' as const);
      const outcome = await Promise.race([drained.then(() => 'drained' as const), timedOut]);
      timeout.abort();
      clearInterval(sweep);

      let exitCode = 0;
      if (outcome === 'timeout') {
        exitCode = 1;
        logger.error(
          { cut_requests: app.inFlight(), shutdown_timeout_ms: config.shutdownTimeoutMs },
          'shutdown timed out, cutting requests in flight',
        );
        app.server.closeAllConnections();
      }

      try {
        await Promise.race([telemetry.shutdown(), sleep(TELEMETRY_FLUSH_TIMEOUT_MS)]);
      } catch (error) {
        logger.error({ err: error }, 'telemetry shutdown failed');
      }

      if (metricsServer !== undefined) {
        const closed = closeServer(metricsServer);
        metricsServer.closeAllConnections();
        await closed;
      }

      logger.info({ exit_code: exitCode }, 'server stopped');
      flushAndExit(logger, exitCode, exit);
    })();
    return running;
  };
}

/** Signals that start the shutdown; Kubernetes sends SIGTERM, a terminal sends SIGINT. */
export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;
