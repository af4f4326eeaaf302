// Describes the machine and software versions that a result was measured with.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

/** Packages whose versions matter for the comparison, as installed in node_modules. */
const MEASURED_PACKAGES = [
  'hono',
  '@hono/node-server',
  '@hono/prometheus',
  'fastify',
  'fastify-metrics',
  '@platformatic/prom-client',
  'express',
  'express-prom-bundle',
  'prom-client',
  'pino',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/exporter-prometheus',
  'esbuild',
];

/** Facts about where and with what a run happened. */
export interface MachineInfo {
  date: string;
  cpuModel: string;
  cores: number;
  memoryGib: number;
  kernel: string;
  /** 1, 5 and 15 minute load averages when the description was taken. */
  loadAverage: string;
  node: string;
  wrk: string;
  commit: string;
  serviceVersion: string;
  packages: Record<string, string>;
}

/** Collects the machine description, with "unknown" for values it cannot read. */
export function describeMachine(): MachineInfo {
  const packages: Record<string, string> = {};
  for (const name of MEASURED_PACKAGES) packages[name] = readPackageVersion(name);
  return {
    date: new Date().toISOString(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryGib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    loadAverage: loadavg()
      .map((load) => load.toFixed(2))
      .join(' / '),
    node: process.version,
    wrk: runQuietly('wrk', ['-v']).split('\n')[0]?.trim() ?? 'unknown',
    commit: describeCommit(),
    serviceVersion: readVersion(resolve(ROOT, 'package.json')),
    packages,
  };
}

/** Short HEAD commit, marked when src/ has changes that are not committed (the build uses them). */
function describeCommit(): string {
  const commit = runQuietly('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).trim();
  const srcChanges = runQuietly('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src']).trim();
  return srcChanges === '' ? commit : `${commit} with uncommitted changes in src/`;
}

function readPackageVersion(name: string): string {
  return readVersion(resolve(ROOT, 'node_modules', name, 'package.json'));
}

function readVersion(packageJsonPath: string): string {
  try {
    const parsed = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as { version?: unknown };
    return typeof parsed.version === 'string' ? parsed.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

function runQuietly(command: string, args: string[]): string {
  try {
    // wrk -v exits with status 1 after printing its version, so output is read either way.
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const output = (error as { stdout?: unknown }).stdout;
    return typeof output === 'string' && output !== '' ? output : 'unknown';
  }
}
