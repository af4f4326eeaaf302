// Profiles one bench target's hot path by running its bundle with --cpu-prof under the same
// wrk load as the bench. Prints the functions with the most self and total time, and the share
// of each bundled module (from the `// path` markers esbuild writes into the bundle).
//
// Usage: npm run build && node bench/profile.ts [--target service] [--path /hello?user=x]
//          [--connections 64] [--duration 10] [--top 30] [--startup] [--interval-us 1000] [--no-pin]
// --target takes any name from bench/targets.ts (service, service-otel-off, hono-bare, ...).
// --startup profiles only the start: spawn, the first 200 on the ready path, then SIGTERM.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';

import { startServer } from './server-process.ts';
import { buildPeers } from './build-peers.ts';
import { PEER_SOURCES, SERVICE_TARGET, TARGETS } from './targets.ts';
import type { Target } from './targets.ts';
import { httpGet } from './http-client.ts';
import { SEED_PATHS } from './scrape.ts';
import { runLoad } from './wrk.ts';

/** One call-tree node of a V8 .cpuprofile file. */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** The parts of a V8 .cpuprofile file read here. */
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Time of one function or module, in milliseconds. */
interface TimeShare {
  name: string;
  ms: number;
}

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    top: { type: 'string', default: '30' },
    target: { type: 'string', default: SERVICE_TARGET },
    path: { type: 'string', default: '/hello?user=x' },
    connections: { type: 'string', default: '64' },
    startup: { type: 'boolean', default: false },
    'interval-us': { type: 'string', default: '1000' },
    'no-pin': { type: 'boolean', default: false },
  },
});

/** Returns, for each line of the bundle, the module path of the nearest marker above it. */
function readModuleMarkers(bundlePath: string): string[] {
  const moduleOfLine: string[] = [];
  let current = '(bundle prelude)';
  for (const line of readFileSync(bundlePath, 'utf8').split('\n')) {
    const marker = /^\/\/ ((?:src|node_modules)\/\S+)$/.exec(line);
    if (marker?.[1]) current = marker[1];
    moduleOfLine.push(current);
  }
  return moduleOfLine;
}

/** Groups a module path by package (node_modules) or by file (src). */
function groupOf(modulePath: string): string {
  const match = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(modulePath);
  return match?.[1] ?? modulePath;
}

function summarizeProfile(
  profile: CpuProfile,
  bundleName: string,
  moduleOfLine: readonly string[],
) {
  const selfUs = new Map<number, number>();
  profile.samples.forEach((nodeId, i) => {
    selfUs.set(nodeId, (selfUs.get(nodeId) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const nodesById = new Map(profile.nodes.map((node) => [node.id, node]));

  const describe = (node: ProfileNode): { name: string; group: string } => {
    const frame = node.callFrame;
    const inBundle = frame.url.endsWith(`/${bundleName}`);
    const modulePath = inBundle ? (moduleOfLine[frame.lineNumber] ?? '?') : frame.url || '(native)';
    const name = `${frame.functionName || '(anonymous)'} ${modulePath}:${frame.lineNumber + 1}`;
    if (inBundle) return { name, group: groupOf(modulePath) };
    return { name, group: frame.url ? 'node internals' : frame.functionName };
  };

  const selfByFunction = new Map<string, number>();
  const totalByFunction = new Map<string, number>();
  const selfByGroup = new Map<string, number>();
  let totalUs = 0;

  // Depth-first walk from the root. A function's total time counts each sample once, even
  // when the function appears several times on the stack (recursion, nested middleware).
  const visit = (nodeId: number, onStack: ReadonlySet<string>): number => {
    const node = nodesById.get(nodeId);
    if (!node) return 0;
    const { name, group } = describe(node);
    const stack = onStack.has(name) ? onStack : new Set([...onStack, name]);
    const ownUs = selfUs.get(nodeId) ?? 0;
    let subtreeUs = ownUs;
    for (const childId of node.children ?? []) subtreeUs += visit(childId, stack);

    totalUs += ownUs;
    selfByFunction.set(name, (selfByFunction.get(name) ?? 0) + ownUs);
    selfByGroup.set(group, (selfByGroup.get(group) ?? 0) + ownUs);
    if (!onStack.has(name)) totalByFunction.set(name, (totalByFunction.get(name) ?? 0) + subtreeUs);
    return subtreeUs;
  };
  const root = profile.nodes[0];
  if (root) visit(root.id, new Set());

  const toList = (map: Map<string, number>): TimeShare[] =>
    [...map.entries()].map(([name, us]) => ({ name, ms: us / 1_000 })).sort((a, b) => b.ms - a.ms);
  return {
    totalMs: totalUs / 1_000,
    selfByFunction: toList(selfByFunction),
    totalByFunction: toList(totalByFunction).filter((entry) => !entry.name.startsWith('(root)')),
    selfByGroup: toList(selfByGroup),
  };
}

/**
 * Sends the seed requests (one per route and status class), a 2 s warm-up on /hello, then
 * `durationSeconds` of load on --path. Returns the number of requests sent.
 */
async function applyLoad(baseUrl: string, durationSeconds: number, pin: boolean): Promise<number> {
  for (const path of SEED_PATHS) await httpGet(`${baseUrl}${path}`);
  const warmup = await runLoad({
    url: `${baseUrl}/hello?user=x`,
    connections: 64,
    durationSeconds: 2,
    cpuList: pin ? '1' : undefined,
  });
  const load = await runLoad({
    url: `${baseUrl}${values.path}`,
    connections: Number(values.connections),
    durationSeconds,
    cpuList: pin ? '1' : undefined,
  });
  console.log(
    `load on ${values.path}: ${load.requestsPerSecond.toFixed(0)} req/s, p50 ${load.p50Ms.toFixed(2)} ms, p99 ${load.p99Ms.toFixed(2)} ms`,
  );
  return SEED_PATHS.length + warmup.requests + load.requests;
}

async function main(): Promise<void> {
  const durationSeconds = Number(values.duration);
  const top = Number(values.top);
  const profileDir = mkdtempSync(join(tmpdir(), 'bench-profile-'));
  const base = TARGETS.find((t) => t.name === values.target);
  if (!base) {
    throw new Error(
      `unknown --target ${values.target}: use one of ${TARGETS.map((t) => t.name).join(', ')}`,
    );
  }
  if (base.name in PEER_SOURCES) await buildPeers();
  const target: Target = { ...base, name: `${base.name}-profile` };

  const pin = !values['no-pin'];
  const server = await startServer(target, {
    cpuList: pin ? '0' : undefined,
    env: {
      NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir} --cpu-prof-interval=${values['interval-us']}`,
    },
  });
  // Requests served while profiled, for the CPU time per request.
  const served = { requests: 0 };
  try {
    if (!values.startup) served.requests = await applyLoad(server.baseUrl, durationSeconds, pin);
  } finally {
    // The profile is written when the process exits after SIGTERM.
    await server.stop();
  }

  const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written to ${profileDir}`);
  const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile;
  const { totalMs, selfByFunction, totalByFunction, selfByGroup } = summarizeProfile(
    profile,
    basename(target.entry),
    readModuleMarkers(target.entry),
  );

  const percent = (ms: number) => `${((ms / totalMs) * 100).toFixed(1).padStart(5)}%`;
  const idleMs = selfByGroup.find((group) => group.name === '(idle)')?.ms ?? 0;
  console.log(`\nprofile ${join(profileDir, file)}: ${totalMs.toFixed(0)} ms sampled`);
  if (served.requests > 0) {
    const busyUsPerRequest = ((totalMs - idleMs) * 1_000) / served.requests;
    console.log(
      `busy (not idle) ${(totalMs - idleMs).toFixed(0)} ms over ${served.requests} requests: ${busyUsPerRequest.toFixed(1)} us per request`,
    );
  }
  console.log('');
  console.log('self time by package or source file:');
  for (const group of selfByGroup.slice(0, top))
    console.log(`  ${percent(group.ms)}  ${group.name}`);
  console.log('\nself time by function:');
  for (const fn of selfByFunction.slice(0, top)) console.log(`  ${percent(fn.ms)}  ${fn.name}`);
  console.log('\ntotal time (self plus callees) by function:');
  for (const fn of totalByFunction.slice(0, top)) console.log(`  ${percent(fn.ms)}  ${fn.name}`);
}

await main();
