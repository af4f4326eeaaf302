import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';

import { ROOT } from '../support/process.ts';

let demo: ChildProcess | undefined;

/** Spawns `npm run demo` (node src/cli/demo.ts) and collects its output. */
function startDemo(...args: string[]): {
  child: ChildProcess;
  output: () => string;
  waitForOutput: (text: string, timeoutMs: number) => Promise<void>;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['src/cli/demo.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  demo = child;
  let text = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    text += chunk;
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    text += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));

  async function waitForOutput(expected: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!text.includes(expected)) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`demo output never contained "${expected}":\n${text}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  return { child, output: () => text, waitForOutput, exited };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Reads the seconds of the p50/p90/p99 rows (first column). */
function firstColumnQuantiles(output: string): number[] {
  return ['p50', 'p90', 'p99'].map((row) => {
    const match = new RegExp(`^${row}\\s+([0-9.]+) s`, 'm').exec(output);
    return Number(match?.[1]);
  });
}

afterEach(async () => {
  if (demo !== undefined && demo.exitCode === null && demo.signalCode === null) {
    demo.kill('SIGINT');
    await new Promise((resolve) => demo?.once('close', resolve));
  }
  demo = undefined;
});

describe('demo', () => {
  it('reports from Prometheus, stops on Ctrl-C', async () => {
    // About 75 requests, so p50 and p90 land in their ranges with near certainty.
    const run = startDemo('--duration', '3s', '--concurrency', '30');
    await run.waitForOutput('Press Ctrl-C', 40_000);
    const output = run.output();
    const servicePid = Number(/^httpserver http:\S+ \(pid ([0-9]+)\)/m.exec(output)?.[1]);
    const prometheusPid = Number(
      /^Prometheus http:\S+ scrapes .*\(pid ([0-9]+)\)/m.exec(output)?.[1],
    );
    const uiUrl = /^Prometheus UI: (\S+)/m.exec(output)?.[1] ?? '';
    const [p50, p90, p99] = firstColumnQuantiles(output);

    expect(output).toContain('/hello latency over the last');
    expect(p50).toBeGreaterThan(0.5);
    expect(p50).toBeLessThan(1.5);
    expect(p90).toBeGreaterThan(1.4);
    expect(p99).toBeLessThan(2.2);
    expect(output).toMatch(/request rate \(average over [0-9]+s\): [0-9.]+ requests\/s/);
    expect(output).toMatch(/^\s+1\.[0-9]-[0-9.]+ s \| #+\s+[0-9]+$/m);
    expect(output).toContain(
      'histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_bucket',
    );

    const ui = await fetch(uiUrl);
    expect(ui.status).toBe(200);
    expect(isRunning(servicePid)).toBe(true);
    expect(isRunning(prometheusPid)).toBe(true);

    run.child.kill('SIGINT');

    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('Stopped.');
    expect(isRunning(servicePid)).toBe(false);
    expect(isRunning(prometheusPid)).toBe(false);
    await expect(fetch(uiUrl)).rejects.toThrow();
  }, 60_000);

  it('runs without Prometheus installed', async () => {
    const run = startDemo(
      '--duration',
      '1s',
      '--concurrency',
      '10',
      '--prometheus-bin',
      '/nonexistent/prometheus',
    );

    expect(await run.exited).toBe(0);
    const output = run.output();
    const [p50, , p99] = firstColumnQuantiles(output);
    expect(output).toContain('apt-get install prometheus');
    expect(output).toContain('/hello latency measured by the demo client (no Prometheus)');
    expect(p50).toBeGreaterThan(0);
    expect(p99).toBeLessThan(2.5);
  }, 30_000);

  it('rejects an invalid duration', async () => {
    const run = startDemo('--duration', 'soon');

    expect(await run.exited).toBe(2);
    expect(run.output()).toBe(
      'error: invalid --duration "soon": use a number with ms, s or m, such as 30s\n',
    );
  });
});
