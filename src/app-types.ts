import type { Config } from './config/config.ts';
import type { Logger } from './telemetry/logger.ts';
import type { Telemetry } from './telemetry/telemetry.ts';

/** Lifecycle state that the probe handlers and the shutdown headers read. */
export interface Readiness {
  /** True once listening with telemetry set up, false while starting and during shutdown. */
  isReady(): boolean;
  /** True from the first moment of shutdown; responses then ask clients to close. */
  isShuttingDown(): boolean;
}

/** Everything createApp needs; tests pass their own logger, clock and randomness. */
export interface AppDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly telemetry: Telemetry;
  readonly readiness: Readiness;
  /** Uniform random number in [0, 1); Math.random by default. */
  readonly random?: () => number;
  /** Monotonic clock in milliseconds; performance.now by default. */
  readonly now?: () => number;
  /** Service start time, for /version. */
  readonly startTime?: Date;
}

/** Per-request values that the observe middleware sets for the handlers. */
export interface AppEnv {
  Variables: {
    requestId: string;
  };
}
