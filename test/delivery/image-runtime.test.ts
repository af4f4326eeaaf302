import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DockerfileParser } from 'dockerfile-ast';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRepoFile, repoRoot } from './manifests.ts';

// Runs the production bundle the way the image does. The argv is the Dockerfile's
// ENTRYPOINT, the working directory is a copy of the runtime stage's /app (dist/ only, no
// node_modules), and the working directory and HOME are read-only. When the test runs as
// root, the process runs as the image's USER, so the read-only modes are enforced.

const nodeBinary = join(repoRoot, 'node_modules', '.bin', 'node');
const startTimeoutMs = 15_000;
const exitTimeoutMs = 10_000;

/** Reads the runtime stage's ENTRYPOINT argv and numeric USER from the Dockerfile. */
function readRuntimeStage(): { argv: string[]; uid: number; gid: number } {
  const dockerfile = DockerfileParser.parse(readRepoFile('Dockerfile'));
  const instructions = dockerfile.getInstructions();
  const lastFrom = instructions.findLastIndex((instruction) => instruction.getKeyword() === 'FROM');
  const runtime = instructions.slice(lastFrom + 1);
  const entrypoint = runtime.findLast((instruction) => instruction.getKeyword() === 'ENTRYPOINT');
  const user = runtime.findLast((instruction) => instruction.getKeyword() === 'USER');
  const argv = JSON.parse(entrypoint?.getArgumentsContent() ?? '[]') as string[];
  const [uid, gid] = (user?.getArgumentsContent() ?? '').split(':').map(Number);
  if (argv.length === 0 || uid === undefined || Number.isNaN(uid)) {
    throw new Error(
      'invalid Dockerfile: the runtime stage needs an exec-form ENTRYPOINT and a numeric USER',
    );
  }
  return { argv, uid, gid: gid ?? uid };
}

/** Lists every file and directory under `root` with its size and modification time. */
function snapshotTree(root: string): string[] {
  const entries = readdirSync(root, { recursive: true, withFileTypes: true });
  return entries
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      const stats = statSync(path);
      return `${path.slice(root.length)} ${stats.size} ${stats.mtimeMs}`;
    })
    .sort();
}

/** Makes a directory tree read-only: directories 0555, files 0444. */
function makeReadOnly(root: string): void {
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    chmodSync(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o555 : 0o444);
  }
  chmodSync(root, 0o555);
}

/**
 * Collects every JSON log line of the child into `logs` and resolves with the port from
 * the "server started" line, or rejects after a timeout or an early exit.
 */
function collectLogsUntilStarted(child: ChildProcess, logs: unknown[]): Promise<number> {
  if (child.stdout === null) throw new Error('child has no stdout');
  const lines = createInterface({ input: child.stdout });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`timed out after ${startTimeoutMs} ms waiting for "server started"`));
    }, startTimeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before "server started": ${JSON.stringify(logs)}`));
    });
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      logs.push(entry);
      if (entry.msg === 'server started' && typeof entry.port === 'number') {
        clearTimeout(timer);
        resolve(entry.port);
      }
    });
  });
}

describe('production bundle started like the image', () => {
  const runtime = readRuntimeStage();
  const sandbox = mkdtempSync(join(tmpdir(), 'httpserver-image-'));
  const appDir = join(sandbox, 'app');
  const homeDir = join(sandbox, 'home');
  const runsAsImageUser = process.getuid?.() === 0;
  const logs: unknown[] = [];
  const stderr: string[] = [];
  let child: ChildProcess;
  let port: number;
  let before: string[];

  beforeAll(async () => {
    const build = spawnSync('npm', ['run', 'build'], { cwd: repoRoot, encoding: 'utf8' });
    if (build.status !== 0) {
      throw new Error(`npm run build failed (exit ${build.status}): ${build.stderr}`);
    }

    chmodSync(sandbox, 0o755);
    mkdirSync(homeDir);
    cpSync(join(repoRoot, 'dist'), join(appDir, 'dist'), { recursive: true });
    makeReadOnly(appDir);
    makeReadOnly(homeDir);
    before = snapshotTree(sandbox);

    // The image's ENTRYPOINT names its own node binary; everything after it is kept.
    const [, ...args] = runtime.argv;
    child = spawn(nodeBinary, args, {
      cwd: appDir,
      env: {
        PATH: process.env.PATH,
        HOME: homeDir,
        NODE_ENV: 'production',
        PORT: '0',
        HOST: '127.0.0.1',
        SHUTDOWN_DELAY_MS: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(runsAsImageUser ? { uid: runtime.uid, gid: runtime.gid } : {}),
    });
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    port = await collectLogsUntilStarted(child, logs);
  }, 180_000);

  afterAll(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(sandbox, { recursive: true, force: true });
  });

  it('answers /healthz with 200', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(response.status).toBe(200);
  });

  it('exits with code 0 on SIGTERM', async () => {
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    child.kill('SIGTERM');
    const timeout = new Promise<never>((_, reject) => {
      setTimeout(
        () => reject(new Error(`timed out after ${exitTimeoutMs} ms waiting for exit`)),
        exitTimeoutMs,
      ).unref();
    });
    const [code, signal] = await Promise.race([exited, timeout]);
    // stdout may still hold the last lines when the exit event fires.
    await new Promise((resolve) => setImmediate(resolve));
    expect(signal, `stderr: ${stderr.join('')}`).toBeNull();
    expect(code, `stderr: ${stderr.join('')}`).toBe(0);
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'server stopped' }));
  });

  it('writes nothing into its working directory or HOME', () => {
    expect(snapshotTree(sandbox)).toEqual(before);
  });

  it.runIf(runsAsImageUser)('ran as the image user', () => {
    expect(runtime.uid).toBeGreaterThan(0);
    expect(child.spawnargs[0]).toBe(nodeBinary);
  });
});
