import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ROOT } from '../support/process.ts';
import { startPrometheus, stopAllPrometheus } from '../support/prometheus.ts';
import { readText, shellCommands } from './markdown.ts';

afterAll(stopAllPrometheus);

/** The service a README command started, for the commands that follow it. */
interface Started {
  readonly child: ChildProcess;
  readonly port: number;
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // The group has already exited.
    }
  }
});

/** Runs `npm start` as the README does, on a free port, and waits for "server started". */
function startWithNpm(env: Record<string, string>): Promise<Started> {
  // A process group of its own: npm does not pass SIGTERM on to the node it starts, so the
  // test signals the whole group.
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: '0', SHUTDOWN_DELAY_MS: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(child);

  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`npm start printed no start line:\n${output}`)),
      20_000,
    );
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      const match = /"port":(\d+).*"msg":"server started"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${output}`));
    });
  });
}

function stop(started: Started | undefined): Promise<void> {
  if (
    started === undefined ||
    started.child.exitCode !== null ||
    started.child.signalCode !== null
  ) {
    return Promise.resolve();
  }
  const { pid } = started.child;
  return new Promise((resolve) => {
    started.child.once('exit', () => resolve());
    if (pid !== undefined) process.kill(-pid, 'SIGTERM');
  });
}

/** Runs a shell command line and returns its exit status and output. */
function shell(command: string, timeoutMs = 60_000): { status: number | null; output: string } {
  const result = spawnSync('sh', ['-c', command], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: process.env,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Splits leading `NAME=value` assignments from the command they apply to. */
function splitAssignments(command: string): { env: Record<string, string>; rest: string } {
  const env: Record<string, string> = {};
  let rest = command;
  for (;;) {
    const match = /^([A-Z_][A-Z0-9_]*)=(\S*)\s+/.exec(rest);
    if (!match) return { env, rest };
    env[match[1] ?? ''] = match[2] ?? '';
    rest = rest.slice(match[0].length);
  }
}

const commands = [
  ...new Set([
    ...shellCommands(readText(join(ROOT, 'README.md'))),
    ...shellCommands(readText(join(ROOT, 'README.zh-CN.md'))),
  ]),
];

describe('README commands', () => {
  it('are found', () => {
    expect(commands.length).toBeGreaterThanOrEqual(8);
  });

  it('run as documented', { timeout: 180_000 }, async () => {
    let service: Started | undefined;
    const unhandled: string[] = [];

    try {
      for (const command of commands) {
        const { env, rest } = splitAssignments(command);

        if (command === 'npm ci && npm test') {
          // The test command itself: CI runs it, and running it here would recurse.
          continue;
        }

        if (rest === 'npm ci && npm start' || rest === 'npm start') {
          if (rest.startsWith('npm ci')) {
            // `npm ci` would replace node_modules under the running tests; `npm ls` checks
            // that what it installed matches package.json and the lock file.
            expect(shell('npm ls --depth=0').status, 'npm ls').toBe(0);
          }
          await stop(service);
          service = await startWithNpm(env);

          if (env.DELAY_MIN_MS !== undefined) {
            const started = performance.now();
            const reply = await fetch(`http://127.0.0.1:${service.port}/hello`);
            const seconds = (performance.now() - started) / 1000;
            expect(reply.status).toBe(200);
            expect(seconds).toBeGreaterThanOrEqual(Number(env.DELAY_MIN_MS) / 1000);
            expect(seconds).toBeLessThan(Number(env.DELAY_MAX_MS) / 1000 + 0.5);
          }
          continue;
        }

        if (rest.startsWith('curl ') && rest.includes('localhost:8080')) {
          expect(service, `a service must be started before: ${command}`).toBeDefined();
          const local = rest.replaceAll('localhost:8080', `127.0.0.1:${service?.port ?? 0}`);
          const { status, output } = shell(local);
          expect(status, `${command}\n${output}`).toBe(0);
          if (rest.includes('/hello?user=alice')) expect(output).toContain('hello [alice]');
          if (rest.includes('/metrics')) {
            expect(output).toMatch(/^httpserver_execution_latency_seconds_count \d+$/m);
          }
          continue;
        }

        const apply = /^kubectl apply -k (\S+)$/.exec(rest);
        if (apply) {
          // No cluster here: render what `apply -k` would send.
          const { status, output } = shell(`kubectl kustomize ${apply[1]}`);
          expect(status, `${command}\n${output}`).toBe(0);
          expect(output).toContain('kind: ');
          continue;
        }

        if (rest.startsWith('npm run demo -- ')) {
          const short = rest.replace(/--duration \S+/, '--duration 2s') + ' --exit';
          const { status, output } = shell(short, 90_000);
          expect(status, `${short}\n${output}`).toBe(0);
          expect(output).toContain('p99');
          continue;
        }

        if (rest.startsWith('npm run latency -- --prometheus http://localhost:9090')) {
          expect(service, `a service must be started before: ${command}`).toBeDefined();
          const prometheus = await startPrometheus({ target: `127.0.0.1:${service?.port ?? 0}` });
          // rate() counts only what arrives after the first sample, so scrape once first.
          await prometheus.waitForScrapes(1);
          await Promise.all(
            Array.from({ length: 5 }, () => fetch(`http://127.0.0.1:${service?.port ?? 0}/hello`)),
          );
          await prometheus.waitForScrapes(3);
          const local = rest.replace('http://localhost:9090', prometheus.url.replace(/\/$/, ''));
          const { status, output } = shell(local);
          await prometheus.stop();
          expect(status, `${local}\n${output}`).toBe(0);
          expect(output).toContain('p99');
          continue;
        }

        unhandled.push(command);
      }
    } finally {
      await stop(service);
    }

    // A new command in a README needs a runner here, or an explicit reason to skip it.
    expect(unhandled).toEqual([]);
  });
});
