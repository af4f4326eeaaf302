import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits `ms` milliseconds unless the signal aborts first.
 *
 * @returns true when the full wait elapsed, false when the signal aborted it. The timer is
 *   cleared on abort, so nothing keeps running for a client that has gone.
 */
export async function waitUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  // A timer, even of 0 ms, waits for the next loop turn (at least 1 ms): skip it.
  if (ms <= 0) return true;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch (error) {
    if (signal.aborted) return false;
    throw error;
  }
}
