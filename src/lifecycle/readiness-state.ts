import type { Readiness } from '../app-types.ts';

/** The process's lifecycle phase as the probes and the shutdown sequence see it. */
export class ReadinessState implements Readiness {
  #phase: 'starting' | 'ready' | 'shutting-down' = 'starting';

  /** Marks the service ready; ignored once shutdown has begun. */
  markReady(): void {
    if (this.#phase === 'starting') this.#phase = 'ready';
  }

  /** Marks the start of shutdown; from here on /readyz returns 503. */
  beginShutdown(): void {
    this.#phase = 'shutting-down';
  }

  isReady(): boolean {
    return this.#phase === 'ready';
  }

  isShuttingDown(): boolean {
    return this.#phase === 'shutting-down';
  }
}
