// Profiles one bench target's hot path: runs its bundle with --cpu-prof under the same wrk
// load as the bench, then prints the functions with the most self time and the share of
// each bundled module (from the `// path` markers esbuild writes into the bundle).
//
// Usage: npm run build && node bench/profile.ts [--target service] [--duration 10] [--top 30] [--no-pin]
// --target takes any name from bench/targets.ts (service, service-otel-off, hono-bare, ...).
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';

import { startServer } from './server-process.ts';
import { buildPeers } from './build-peers.ts';
import { PEER_SOURCES, SERVICE_TARGET, TARGETS } from './targets.ts';
import type { Target } from './targets.ts';
import { runLoad } from './wrk.ts';

/** The parts of a V8 .cpuprofile file read here. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time of one function or module, in milliseconds. */
interface SelfTime {
  name: string;
  ms: number;
}

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    top: { type: 'string', default: '30' },
    target: { type: 'string', default: SERVICE_TARGET },
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

  const byFunction = new Map<string, number>();
  const byGroup = new Map<string, number>();
  let totalUs = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    totalUs += us;
    const frame = node.callFrame;
    const inBundle = frame.url.endsWith(`/${bundleName}`);
    const modulePath = inBundle ? (moduleOfLine[frame.lineNumber] ?? '?') : frame.url || '(native)';
    const name = `${frame.functionName || '(anonymous)'} ${modulePath}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const group = inBundle
      ? groupOf(modulePath)
      : frame.url
        ? 'node internals'
        : frame.functionName;
    byGroup.set(group, (byGroup.get(group) ?? 0) + us);
  }
  const toList = (map: Map<string, number>): SelfTime[] =>
    [...map.entries()].map(([name, us]) => ({ name, ms: us / 1_000 })).sort((a, b) => b.ms - a.ms);
  return { totalMs: totalUs / 1_000, functions: toList(byFunction), groups: toList(byGroup) };
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
    env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` },
  });
  // Requests served while profiled, for the CPU time per request.
  const served = { requests: 0 };
  try {
    const warmup = await runLoad({
      url: `${server.baseUrl}/hello?user=x`,
      connections: 64,
      durationSeconds: 2,
      cpuList: pin ? '1' : undefined,
    });
    const load = await runLoad({
      url: `${server.baseUrl}/hello?user=x`,
      connections: 64,
      durationSeconds,
      cpuList: pin ? '1' : undefined,
    });
    served.requests = warmup.requests + load.requests;
    console.log(
      `load under profiling: ${load.requestsPerSecond.toFixed(0)} req/s, p99 ${load.p99Ms.toFixed(2)} ms`,
    );
  } finally {
    // The profile is written when the process exits after SIGTERM.
    await server.stop();
  }

  const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written to ${profileDir}`);
  const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile;
  const { totalMs, functions, groups } = summarizeProfile(
    profile,
    basename(target.entry),
    readModuleMarkers(target.entry),
  );

  const percent = (ms: number) => `${((ms / totalMs) * 100).toFixed(1).padStart(5)}%`;
  const idleMs = groups.find((group) => group.name === '(idle)')?.ms ?? 0;
  const busyUsPerRequest = ((totalMs - idleMs) * 1_000) / served.requests;
  console.log(`\nprofile ${join(profileDir, file)}: ${totalMs.toFixed(0)} ms sampled`);
  console.log(
    `busy (not idle) ${(totalMs - idleMs).toFixed(0)} ms over ${served.requests} requests: ${busyUsPerRequest.toFixed(1)} us per request\n`,
  );
  console.log('self time by package or source file:');
  for (const group of groups.slice(0, top)) console.log(`  ${percent(group.ms)}  ${group.name}`);
  console.log('\nself time by function:');
  for (const fn of functions.slice(0, top)) console.log(`  ${percent(fn.ms)}  ${fn.name}`);
}

await main();
