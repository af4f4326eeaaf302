// Shared pieces of the peer servers, so that every peer does the same basic work per request
// as the service: parse `user`, check its length, and format the greeting.
// NOTE: the service also rejects control characters in `user` and lists the request headers
// in its body, which the peers leave out, so they do slightly less work per request.

/** Longest `user` value accepted, as in the service. Longer values get a 400. */
export const MAX_USER_LENGTH = 256;

/** Largest `/delay/:ms` value accepted, as the service's MAX_DELAY_MS default. */
export const MAX_DELAY_MS = 10_000;

/** Port and interface from PORT (0 = any free port) and HOST (default 127.0.0.1). */
export function readListenOptions(): { port: number; host: string } {
  const port = Number(process.env.PORT ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`invalid PORT ${process.env.PORT}: expected an integer 0..65535`);
  }
  return { port, host: process.env.HOST ?? '127.0.0.1' };
}

/**
 * Exits with status 0 on SIGTERM, so `node --cpu-prof` writes its profile (it does not when
 * the default SIGTERM action kills the process).
 */
export function exitOnSigterm(): void {
  process.once('SIGTERM', () => process.exit(0));
}

/** Writes the line that the bench runner reads the bound port from. */
export function announceListening(name: string, port: number): void {
  process.stdout.write(`${JSON.stringify({ msg: 'server started', peer: name, port })}\n`);
}

/** Status and text body of `/hello` for a `user` query value (null when absent). */
export function greet(user: string | null | undefined): { status: 200 | 400; body: string } {
  if (user != null && user.length > MAX_USER_LENGTH) {
    return { status: 400, body: `user is longer than ${MAX_USER_LENGTH} characters\n` };
  }
  return { status: 200, body: `hello [${user || 'stranger'}]\n` };
}

/** Parses `/status/:code`: 200..599, or null for anything else. */
export function parseStatusCode(text: string): number | null {
  const code = Number(text);
  return Number.isInteger(code) && code >= 200 && code <= 599 ? code : null;
}

/** Parses `/delay/:ms`: 0..MAX_DELAY_MS, or null for anything else. */
export function parseDelayMs(text: string): number | null {
  const ms = Number(text);
  return Number.isInteger(ms) && ms >= 0 && ms <= MAX_DELAY_MS ? ms : null;
}

/** Returns whether a response with this status may carry a body (all but 204, 205 and 304). */
export function statusAllowsBody(code: number): boolean {
  return code !== 204 && code !== 205 && code !== 304;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
