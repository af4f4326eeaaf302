import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const dashboardPath = `${repoRoot}otel/grafana/dashboards/httpserver.json`;
const dashboardText = await readFile(dashboardPath, 'utf8');

interface DataSourceRef {
  type: string;
  uid: string;
}

interface Target {
  refId: string;
  expr: string;
  datasource: DataSourceRef;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource: DataSourceRef;
  gridPos: { h: number; w: number; x: number; y: number };
  fieldConfig: { defaults: { unit?: string } };
  targets: Target[];
}

interface DashboardJson {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string }[] };
}

const dashboard = JSON.parse(dashboardText) as DashboardJson;

const datasourceVariables: Record<string, string> = {
  prometheus: '${datasource}',
  loki: '${loki}',
};

/**
 * Type-checks the dashboard JSON against the `Dashboard` type of @grafana/schema, Grafana's
 * published schema, which ships as TypeScript types only (no JSON Schema). The JSON is pasted
 * into a virtual module as an object literal with `satisfies Dashboard`, so TypeScript keeps
 * its string literals and reports unknown keys as well as wrong types.
 */
function typeCheckDashboard(json: string): string[] {
  const fileName = `${repoRoot}test/otel/dashboard-type-check.virtual.ts`;
  const source = [
    "import type { Dashboard } from '@grafana/schema';",
    `export const dashboard = ${json.trim()} satisfies Dashboard;`,
  ].join('\n');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === fileName
      ? ts.createSourceFile(name, source, languageVersion)
      : getSourceFile(name, languageVersion, ...rest);
  host.fileExists = (name) => name === fileName || fileExists(name);

  const program = ts.createProgram([fileName], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const start = diagnostic.start ?? 0;
    const snippet = source.slice(start, start + (diagnostic.length ?? 0)).slice(0, 80);
    return `${message} (at ${JSON.stringify(snippet)})`;
  });
}

describe('dashboard JSON', () => {
  it('matches the Dashboard type of @grafana/schema', () => {
    expect(typeCheckDashboard(dashboardText)).toEqual([]);
  });

  it('fails the type check for a wrong field type', () => {
    const broken = dashboardText.replace('"schemaVersion": 39', '"schemaVersion": "39"');

    expect(broken).not.toBe(dashboardText);
    expect(typeCheckDashboard(broken).join('\n')).toMatch(/schemaVersion/);
  });

  it('fails the type check for an unknown key', () => {
    const broken = dashboardText.replace('"uid": ', '"dashboardUid": "x",\n  "uid": ');

    expect(broken).not.toBe(dashboardText);
    expect(typeCheckDashboard(broken).join('\n')).toMatch(/dashboardUid/);
  });

  it('has a stable uid', () => {
    expect(dashboard.uid).toBe('httpserver-overview');
  });

  it('declares the Prometheus and Loki data source variables', () => {
    const variables = dashboard.templating.list;

    expect(variables).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    expect(variables).toContainEqual(
      expect.objectContaining({ name: 'loki', type: 'datasource', query: 'loki' }),
    );
  });

  it('gives panels unique ids that fit the 24-column grid', () => {
    const ids = dashboard.panels.map((panel) => panel.id);

    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.gridPos.x + panel.gridPos.w, `panel ${panel.title}`).toBeLessThanOrEqual(24);
    }
  });

  it.each(dashboard.panels.map((panel) => [panel.title, panel] as const))(
    'describes panel %s with a unit and a description',
    (_title, panel) => {
      expect(panel.description?.length ?? 0).toBeGreaterThan(20);
      expect(panel.fieldConfig.defaults.unit).toMatch(/\S/);
    },
  );

  it.each(dashboard.panels.map((panel) => [panel.title, panel] as const))(
    'selects the data source of panel %s through a variable',
    (_title, panel) => {
      expect(panel.datasource.uid).toBe(datasourceVariables[panel.datasource.type]);
      for (const target of panel.targets) {
        expect(target.datasource).toEqual(panel.datasource);
      }
    },
  );

  it('uses $__rate_interval in every Prometheus range', () => {
    const prometheusExprs = dashboard.panels
      .filter((panel) => panel.datasource.type === 'prometheus')
      .flatMap((panel) => panel.targets.map((target) => target.expr));

    for (const expr of prometheusExprs) {
      for (const range of expr.matchAll(/\[([^\]]+)\]/g)) {
        expect(range[1], expr).toBe('$__rate_interval');
      }
    }
  });

  it('contains the panels the service needs', () => {
    const types = dashboard.panels.map((panel) => panel.type);
    const exprs = dashboard.panels.flatMap((panel) => panel.targets.map((t) => t.expr));
    const joined = exprs.join('\n');

    expect(types).toContain('heatmap');
    expect(types).toContain('logs');
    for (const quantile of ['0.5', '0.9', '0.99']) {
      expect(joined).toContain(`histogram_quantile(${quantile}, sum by (le) (rate(`);
    }
    expect(joined).toContain('http_server_request_duration_count');
    expect(joined).toContain('http_server_active_requests');
    expect(joined).toContain('nodejs_eventloop_delay_p99');
    expect(joined).toContain('process_memory_usage');
    expect(joined).toContain('| unwrap duration_ms');
  });
});
