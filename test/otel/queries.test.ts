import { readFile } from 'node:fs/promises';
import { parser as logqlParser } from '@grafana/lezer-logql';
import { parser as promqlParser } from '@prometheus-io/lezer-promql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT, startService, stopAllServices, type LogLine } from '../support/process.ts';
import { startPrometheus, stopAllPrometheus, type TestPrometheus } from '../support/prometheus.ts';

// The tree types of @lezer/common, the package both grammars build on.
type Tree = ReturnType<typeof promqlParser.parse>;
type SyntaxNode = Tree['topNode'];

interface Target {
  expr: string;
  datasource: { type: string };
}

interface Panel {
  title: string;
  targets: Target[];
}

interface Query {
  source: string;
  expr: string;
}

const dashboard = JSON.parse(
  await readFile(`${ROOT}/otel/grafana/dashboards/httpserver.json`, 'utf8'),
) as { panels: Panel[] };
const logsDoc = await readFile(`${ROOT}/docs/logs.md`, 'utf8');

function dashboardQueries(datasourceType: string): Query[] {
  return dashboard.panels.flatMap((panel) =>
    panel.targets
      .filter((target) => target.datasource.type === datasourceType)
      .map((target) => ({ source: `dashboard panel "${panel.title}"`, expr: target.expr })),
  );
}

function docQueries(language: string): Query[] {
  const fence = new RegExp('```' + language + '\\n([\\s\\S]*?)\\n```', 'g');
  return [...logsDoc.matchAll(fence)].map((match) => ({
    source: `docs/logs.md ${language} block`,
    expr: (match[1] ?? '').trim(),
  }));
}

const promqlQueries = [...dashboardQueries('prometheus'), ...docQueries('promql')];
const logqlQueries = [...dashboardQueries('loki'), ...docQueries('logql')];

/**
 * Replaces the Grafana variables used in the queries with values that Grafana could send.
 * Prometheus scrapes every second in these tests, so 20s spans about 20 samples. Grafana's
 * $__rate_interval is at least four scrape intervals, so 20s is a value it could choose.
 */
function substituteGrafanaVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '20s')
    .replaceAll('$__interval', '1s')
    .replaceAll('$__auto', '1m')
    .replaceAll('$service', 'httpserver')
    .replaceAll('${datasource}', 'prometheus')
    .replaceAll('${loki}', 'loki');
}

/** Returns the text of every error node in a lezer parse tree, or none when the query parsed. */
function syntaxErrors(tree: Tree, text: string): string[] {
  const errors: string[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(`at ${node.from}: "${text.slice(node.from, node.to)}"`);
    },
  });
  return errors;
}

describe('query syntax', () => {
  it('finds queries in the dashboard and docs', () => {
    expect(promqlQueries.length).toBeGreaterThanOrEqual(10);
    expect(logqlQueries.length).toBeGreaterThanOrEqual(8);
  });

  it.each(promqlQueries.map((query) => [query.expr, query] as const))(
    'parses PromQL %s',
    (_expr, query) => {
      const text = substituteGrafanaVariables(query.expr);

      expect(syntaxErrors(promqlParser.parse(text), text), query.source).toEqual([]);
    },
  );

  it.each(logqlQueries.map((query) => [query.expr, query] as const))(
    'parses LogQL %s',
    (_expr, query) => {
      const text = substituteGrafanaVariables(query.expr);

      expect(syntaxErrors(logqlParser.parse(text), text), query.source).toEqual([]);
    },
  );

  it('reports unsubstituted variables as errors', () => {
    const promql = 'rate(http_server_request_duration_count[$__rate_interval])';
    const logql = 'count_over_time({service_name="httpserver"} [$__auto])';

    expect(syntaxErrors(promqlParser.parse(promql), promql)).not.toEqual([]);
    expect(syntaxErrors(logqlParser.parse(logql), logql)).not.toEqual([]);
  });
});

/** Names of stream labels Loki indexes, from otel/loki/limits.yaml, with dots as underscores. */
async function lokiIndexLabels(): Promise<Set<string>> {
  const limits = parse(await readFile(`${ROOT}/otel/loki/limits.yaml`, 'utf8')) as {
    limits_config: {
      otlp_config: {
        resource_attributes: {
          attributes_config: { action: string; attributes: string[] }[];
        };
      };
    };
  };
  const configs = limits.limits_config.otlp_config.resource_attributes.attributes_config;
  return new Set(
    configs
      .filter((config) => config.action === 'index_label')
      .flatMap((config) => config.attributes.map((name) => name.replaceAll('.', '_'))),
  );
}

interface LogqlNames {
  streamLabels: string[];
  fields: string[];
}

/** Collects the stream selector labels and the pipeline or grouping names of a LogQL query. */
function logqlNames(text: string): LogqlNames {
  const names: LogqlNames = { streamLabels: [], fields: [] };
  const tree = logqlParser.parse(text);
  tree.iterate({
    enter(node) {
      if (node.name !== 'Identifier') return;
      const name = text.slice(node.from, node.to);
      if (hasAncestor(node.node, 'Selector')) names.streamLabels.push(name);
      else if (hasAncestor(node.node, 'LabelFilter', 'UnwrapExpr', 'Grouping')) {
        names.fields.push(name);
      }
    },
  });
  return names;
}

function hasAncestor(node: SyntaxNode, ...types: string[]): boolean {
  for (let parent = node.parent; parent; parent = parent.parent) {
    if (types.includes(parent.name)) return true;
  }
  return false;
}

/** Sends bounded traffic: each request has a 5 s timeout and the counts are fixed. */
async function sendTraffic(baseUrl: string): Promise<void> {
  const paths = [
    ...Array.from({ length: 12 }, (_, index) => `/hello?user=user${index}`),
    '/status/500',
    '/status/503',
    '/status/404',
    '/delay/20',
    '/',
    '/no-such-route',
  ];
  await Promise.all(
    paths.map(async (path) => {
      const response = await fetch(new URL(path, baseUrl), {
        signal: AbortSignal.timeout(5_000),
      });
      await response.arrayBuffer();
    }),
  );
}

describe('queries against the running service', () => {
  let prometheus: TestPrometheus;
  let accessLine: LogLine;

  beforeAll(async () => {
    const service = await startService({ env: { DELAY_MIN_MS: '10', DELAY_MAX_MS: '100' } });
    prometheus = await startPrometheus({ target: `127.0.0.1:${service.port}` });

    // Prometheus computes no increase for a series whose first sample already contains its
    // final count. One round of traffic before two scrapes creates every series the queries
    // read, so the second round shows up in rate().
    await sendTraffic(service.url);
    await prometheus.waitForScrapes(2);

    const tracedResponse = await fetch(new URL('/hello?user=traced', service.url), {
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      signal: AbortSignal.timeout(5_000),
    });
    await tracedResponse.arrayBuffer();
    await sendTraffic(service.url);
    await prometheus.waitForScrapes(2);

    accessLine = await service.waitForLog(
      (line) => line.msg === 'request completed' && line.trace_id !== undefined,
    );
  }, 60_000);

  afterAll(async () => {
    await stopAllPrometheus();
    await stopAllServices();
  });

  it.each(promqlQueries.map((query) => [query.expr, query] as const))(
    'returns data for %s',
    async (_expr, query) => {
      const samples = await prometheus.query(substituteGrafanaVariables(query.expr));

      expect(samples.length, `${query.source} returned no series`).toBeGreaterThan(0);
      for (const sample of samples) {
        expect(Number.isFinite(sample.value), `${query.source}: ${JSON.stringify(sample)}`).toBe(
          true,
        );
      }
    },
  );

  it('computes a 5xx ratio between 0 and 1', async () => {
    const errorRatio = dashboardQueries('prometheus').find((query) =>
      query.expr.includes('=~"5.."'),
    );
    const value = await prometheus.queryValue(substituteGrafanaVariables(errorRatio?.expr ?? ''));

    expect(value).toBeGreaterThan(0);
    expect(value).toBeLessThan(1);
  });

  it.each(logqlQueries.map((query) => [query.expr, query] as const))(
    'names only known fields in %s',
    async (_expr, query) => {
      const indexLabels = await lokiIndexLabels();
      const names = logqlNames(substituteGrafanaVariables(query.expr));

      for (const label of names.streamLabels) {
        expect([...indexLabels], `stream label ${label} in ${query.source}`).toContain(label);
      }
      for (const field of names.fields) {
        const known = field in accessLine || indexLabels.has(field);
        expect(
          known,
          `field ${field} in ${query.source} is not in ${JSON.stringify(accessLine)}`,
        ).toBe(true);
      }
    },
  );

  it('filters on the msg of access-log lines', () => {
    const filters = logqlQueries.filter((query) => query.expr.includes('| msg='));

    expect(filters.length).toBeGreaterThan(0);
    for (const query of filters) {
      expect(query.expr).toContain(`| msg=${JSON.stringify(accessLine.msg)}`);
    }
  });

  it('parses fields the access log contains', async () => {
    const collector = parse(await readFile(`${ROOT}/otel/collector.yaml`, 'utf8')) as {
      receivers: { file_log: { operators: Record<string, unknown>[] } };
    };
    const jsonParser = collector.receivers.file_log.operators.find(
      (operator) => operator.type === 'json_parser',
    ) as {
      timestamp: { parse_from: string; layout_type: string; layout: string };
      severity: { parse_from: string };
      trace: { trace_id: { parse_from: string }; span_id: { parse_from: string } };
    };
    const references = [
      jsonParser.timestamp.parse_from,
      jsonParser.severity.parse_from,
      jsonParser.trace.trace_id.parse_from,
      jsonParser.trace.span_id.parse_from,
    ];

    for (const reference of references) {
      expect(reference).toMatch(/^attributes\./);
      expect(Object.keys(accessLine)).toContain(reference.slice('attributes.'.length));
    }
    expect(jsonParser.timestamp.parse_from).toBe('attributes.time');
    expect(jsonParser.severity.parse_from).toBe('attributes.level');
  });

  it('writes time and level the parser reads', async () => {
    const collector = await readFile(`${ROOT}/otel/collector.yaml`, 'utf8');

    // Go's layout 2006-01-02T15:04:05.999999999Z07:00 is RFC 3339 with an optional fraction
    // of up to nine digits and either Z or a numeric offset.
    expect(collector).toContain("layout: '2006-01-02T15:04:05.999999999Z07:00'");
    expect(accessLine.time).toMatch(
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/,
    );
    // The stanza severity parser's default mapping recognises these level names.
    expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(accessLine.level);
  });
});
