// Turns the measurements of one bench run into summaries, target checks and Markdown.
import type { ConcurrencyResult } from './concurrency.ts';
import type { MachineInfo } from './machine.ts';
import type { ScrapeResult } from './scrape.ts';
import { median } from './stats.ts';
import type { Target } from './targets.ts';
import type { LoadResult } from './wrk.ts';

/** Everything measured for one target during a run. */
export interface TargetMeasurements {
  target: Target;
  /** One wrk result per round, in round order. */
  rounds: LoadResult[];
  coldStartsMs: number[];
  idleRssKib: number[];
  afterLoadRssKib: number;
  peakRssKib: number;
  scrape: ScrapeResult | undefined;
}

/** Medians of one target and their ratios to the reference target. */
export interface TargetSummary {
  name: string;
  requestsPerSecond: number;
  /** Median over rounds of (this target's req/s / reference req/s in the same round). */
  throughputRatio: number;
  p50Ms: number;
  p99Ms: number;
  /** Median over rounds of (this target's p99 / reference p99 in the same round). */
  p99Ratio: number;
  errors: number;
  cpuUsPerRequest: number;
  /** Median over rounds of (CPU per request / reference CPU per request in the same round). */
  cpuRatio: number;
  coldStartMs: number;
  coldStartRatio: number;
  idleRssMib: number;
  idleRssRatio: number;
  afterLoadRssMib: number;
  peakRssMib: number;
  scrape: ScrapeResult | undefined;
}

/** One target check of the service. */
export interface TargetCheck {
  goal: string;
  measured: string;
  met: boolean;
}

/** Builds the summary of every target, with ratios to the reference's same round. */
export function summarize(
  all: readonly TargetMeasurements[],
  referenceName: string,
): TargetSummary[] {
  const reference = all.find((m) => m.target.name === referenceName);
  if (!reference) throw new Error(`reference target ${referenceName} was not measured`);
  const referenceCold = median(reference.coldStartsMs);
  const referenceIdle = median(reference.idleRssKib);

  return all.map((m) => {
    const throughputRatios = m.rounds.map(
      (round, i) => round.requestsPerSecond / (reference.rounds[i]?.requestsPerSecond ?? NaN),
    );
    const p99Ratios = m.rounds.map((round, i) => round.p99Ms / (reference.rounds[i]?.p99Ms ?? NaN));
    const cpuRatios = m.rounds.map(
      (round, i) => (round.cpuUsPerRequest ?? NaN) / (reference.rounds[i]?.cpuUsPerRequest ?? NaN),
    );
    return {
      name: m.target.name,
      requestsPerSecond: median(m.rounds.map((round) => round.requestsPerSecond)),
      throughputRatio: median(throughputRatios),
      p50Ms: median(m.rounds.map((round) => round.p50Ms)),
      p99Ms: median(m.rounds.map((round) => round.p99Ms)),
      p99Ratio: median(p99Ratios),
      errors: m.rounds.reduce((sum, round) => sum + round.errors, 0),
      cpuUsPerRequest: median(m.rounds.map((round) => round.cpuUsPerRequest ?? NaN)),
      cpuRatio: median(cpuRatios),
      coldStartMs: median(m.coldStartsMs),
      coldStartRatio: median(m.coldStartsMs) / referenceCold,
      idleRssMib: median(m.idleRssKib) / 1024,
      idleRssRatio: median(m.idleRssKib) / referenceIdle,
      afterLoadRssMib: m.afterLoadRssKib / 1024,
      peakRssMib: m.peakRssKib / 1024,
      scrape: m.scrape,
    };
  });
}

/** Checks the service's summary against the project's targets. */
export function checkTargets(
  summaries: readonly TargetSummary[],
  serviceName: string,
  instrumentedPeers: readonly string[],
  concurrency: ConcurrencyResult | undefined,
): TargetCheck[] {
  const service = summaries.find((s) => s.name === serviceName);
  if (!service) throw new Error(`service target ${serviceName} was not measured`);
  const peers = summaries.filter((s) => instrumentedPeers.includes(s.name));
  const fastestPeer = peers.reduce<TargetSummary | undefined>(
    (best, s) => (best === undefined || s.requestsPerSecond > best.requestsPerSecond ? s : best),
    undefined,
  );

  const checks: TargetCheck[] = [
    {
      goal: 'throughput >= 0.85x bare Hono',
      measured: `${fixed(service.throughputRatio, 2)}x`,
      met: service.throughputRatio >= 0.85,
    },
    {
      goal: 'throughput ahead of every instrumented peer',
      measured: fastestPeer
        ? `${fixed(service.requestsPerSecond, 0)} vs best peer ${fastestPeer.name} ${fixed(fastestPeer.requestsPerSecond, 0)} req/s`
        : 'no instrumented peer measured',
      met: fastestPeer !== undefined && service.requestsPerSecond > fastestPeer.requestsPerSecond,
    },
    {
      goal: 'p99 <= 1.2x bare Hono',
      measured: `${fixed(service.p99Ratio, 2)}x (${fixed(service.p99Ms, 2)} ms)`,
      met: service.p99Ratio <= 1.2,
    },
    {
      goal: 'cold start <= 1.15x bare Hono',
      measured: `${fixed(service.coldStartRatio, 2)}x (${fixed(service.coldStartMs, 0)} ms)`,
      met: service.coldStartRatio <= 1.15,
    },
    {
      goal: 'idle RSS <= 1.15x bare Hono',
      measured: `${fixed(service.idleRssRatio, 2)}x (${fixed(service.idleRssMib, 1)} MiB)`,
      met: service.idleRssRatio <= 1.15,
    },
    {
      goal: 'scrape under 2 ms (median)',
      measured: service.scrape ? `${fixed(service.scrape.medianMs, 2)} ms` : 'not measured',
      met: service.scrape !== undefined && service.scrape.medianMs < 2,
    },
  ];
  if (concurrency) {
    const failures = concurrency.count - concurrency.ok;
    checks.push({
      goal: `${concurrency.count} concurrent /hello with 0-2 s delay, zero errors`,
      measured: `${concurrency.ok} ok, ${failures} failed`,
      met: failures === 0,
    });
  }
  return checks;
}

/** Markdown table of the summaries. */
export function renderSummaryTable(summaries: readonly TargetSummary[]): string {
  const header = [
    '| target | req/s | x Hono | p50 ms | p99 ms | p99 x Hono | errors | CPU us/req | x Hono | cold start ms | x Hono | idle RSS MiB | x Hono | RSS after load MiB | scrape ms (median / p90) | scrape KiB | samples |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const rows = summaries.map((s) =>
    [
      s.name,
      fixed(s.requestsPerSecond, 0),
      fixed(s.throughputRatio, 2),
      fixed(s.p50Ms, 2),
      fixed(s.p99Ms, 2),
      fixed(s.p99Ratio, 2),
      String(s.errors),
      fixed(s.cpuUsPerRequest, 1),
      fixed(s.cpuRatio, 2),
      fixed(s.coldStartMs, 0),
      fixed(s.coldStartRatio, 2),
      fixed(s.idleRssMib, 1),
      fixed(s.idleRssRatio, 2),
      fixed(s.afterLoadRssMib, 1),
      s.scrape ? `${fixed(s.scrape.medianMs, 2)} / ${fixed(s.scrape.p90Ms, 2)}` : '-',
      s.scrape ? fixed(s.scrape.bytes / 1024, 1) : '-',
      s.scrape ? String(s.scrape.samples) : '-',
    ].join(' | '),
  );
  return [...header, ...rows.map((row) => `| ${row} |`)].join('\n');
}

/** Markdown table of the target checks. */
export function renderChecks(checks: readonly TargetCheck[]): string {
  const lines = ['| target | measured | result |', '| --- | --- | --- |'];
  for (const check of checks) {
    lines.push(`| ${check.goal} | ${check.measured} | ${check.met ? 'met' : 'NOT MET'} |`);
  }
  return lines.join('\n');
}

/** Markdown table of req/s per round, to show the spread behind the medians. */
export function renderRounds(all: readonly TargetMeasurements[]): string {
  const roundCount = Math.max(...all.map((m) => m.rounds.length));
  const numbers = Array.from({ length: roundCount }, (_, i) => i + 1);
  const lines = [
    `| target | ${numbers.map((n) => `round ${n} req/s (p99 ms)`).join(' | ')} |`,
    `| --- | ${numbers.map(() => '---:').join(' | ')} |`,
  ];
  for (const m of all) {
    const cells = m.rounds.map((r) => `${fixed(r.requestsPerSecond, 0)} (${fixed(r.p99Ms, 2)})`);
    lines.push(`| ${m.target.name} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Markdown description of the machine and package versions. */
export function renderMachine(machine: MachineInfo): string {
  const lines = [
    `- Date: ${machine.date}`,
    `- CPU: ${machine.cpuModel}, ${machine.cores} cores; memory ${machine.memoryGib} GiB; Linux ${machine.kernel}`,
    `- Load average (1 / 5 / 15 min) when written: ${machine.loadAverage}`,
    `- Node ${machine.node}; ${machine.wrk}`,
    `- Service ${machine.serviceVersion} at commit ${machine.commit}`,
    `- Packages: ${Object.entries(machine.packages)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}`,
  ];
  return lines.join('\n');
}

/** Formats a number with `digits` decimals, or "-" when it is not finite. */
export function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}
