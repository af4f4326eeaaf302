/** Starts httpserver as a child process for the demo. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SERVER_ENTRY = fileURLToPath(new URL('../server.ts', import.meta.url));

/** An httpserver process started by startLocalService. */
export interface LocalService {
  /** Base URL without a trailing slash, for example http://127.0.0.1:41234. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the service with SIGTERM (SIGKILL after 10 s). Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Spawns `node src/server.ts` on 127.0.0.1 with a free port (PORT=0) and waits for its
 * "server started" log line, which carries the port. Other variables, such as DELAY_MAX_MS,
 * pass through from this process's environment.
 */
export async function startLocalService(timeoutMs = 15_000): Promise<LocalService> {
  const child = spawn(process.execPath, [SERVER_ENTRY], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: process.env.HOST ?? '127.0.0.1',
      SHUTDOWN_DELAY_MS: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stderrText = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderrText = (stderrText + chunk).slice(-8_192);
  });

  let port: number;
  try {
    port = await readStartedPort(child, timeoutMs);
  } catch (error) {
    await terminate(child, exited);
    throw new Error(`${(error as Error).message}\n${stderrText}`, { cause: error });
  }

  let stopped = false;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate(child, exited);
    },
  };
}

/** Reads JSON log lines until "server started" and returns its port; later lines are drained. */
function readStartedPort(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    if (child.stdout === null) {
      reject(new Error('the service has no stdout pipe'));
      return;
    }
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => {
      reject(new Error(`the service did not log "server started" within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`the service exited with code ${code} before it started`));
    });
    lines.on('line', (text) => {
      let line: { msg?: unknown; port?: unknown };
      try {
        line = JSON.parse(text) as { msg?: unknown; port?: unknown };
      } catch {
        return;
      }
      if (line.msg === 'server started' && typeof line.port === 'number') {
        clearTimeout(timer);
        resolve(line.port);
      }
    });
  });
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.pid === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
