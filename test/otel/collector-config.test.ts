import { lstat, readFile, realpath } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const configPath = `${repoRoot}otel/collector.yaml`;
const canonicalConfigPath = `${repoRoot}k8s/collector/collector.yaml`;
const daemonSetPath = `${repoRoot}k8s/collector/daemonset.yaml`;

type Kind = 'receivers' | 'processors' | 'exporters' | 'extensions';

/**
 * Component types that the otelcol-contrib 0.158.0 image (pinned in
 * k8s/collector/daemonset.yaml) ships, each with the module that provides it. Since early
 * 2026 the collector renames types to snake_case and keeps each old name as a deprecated
 * alias. Add a component here only after checking its name for the pinned version.
 */
const contribComponents: Record<Kind, Record<string, string>> = {
  receivers: {
    otlp: 'opentelemetry-collector receiver/otlpreceiver (core and contrib distributions)',
    file_log: 'opentelemetry-collector-contrib receiver/filelogreceiver (old name filelog)',
  },
  processors: {
    memory_limiter: 'opentelemetry-collector processor/memorylimiterprocessor',
    batch: 'opentelemetry-collector processor/batchprocessor',
    k8s_attributes:
      'opentelemetry-collector-contrib processor/k8sattributesprocessor (old name k8sattributes, renamed February 2026)',
  },
  exporters: {
    otlp_http:
      'opentelemetry-collector exporter/otlphttpexporter (old name otlphttp, renamed in 0.144.0)',
    prometheus_remote_write:
      'opentelemetry-collector-contrib exporter/prometheusremotewriteexporter (old name prometheusremotewrite, renamed May 2026)',
  },
  extensions: {
    health_check: 'opentelemetry-collector-contrib extension/healthcheckextension',
    file_storage: 'opentelemetry-collector-contrib extension/storage/filestorage',
  },
};

interface Pipeline {
  receivers: string[];
  processors?: string[];
  exporters: string[];
}

interface CollectorConfig {
  extensions: Record<string, unknown>;
  receivers: Record<string, Record<string, unknown>>;
  processors: Record<string, Record<string, unknown>>;
  exporters: Record<string, Record<string, unknown>>;
  service: { extensions: string[]; pipelines: Record<string, Pipeline> };
}

const config = parse(await readFile(configPath, 'utf8')) as CollectorConfig;
const pipelines = Object.entries(config.service.pipelines);

/** Returns the component type of an id such as `otlp_http/loki`. */
function componentType(id: string): string {
  return id.split('/')[0] ?? id;
}

/** Resolves `${env:NAME:-default}` to its default, as the collector does with NAME unset. */
function envDefault(value: string): string {
  const match = /^\$\{env:[A-Z0-9_]+:-(.+)\}$/.exec(value);
  return match?.[1] ?? value;
}

function referencedIds(kind: Exclude<Kind, 'extensions'>): Set<string> {
  return new Set(pipelines.flatMap(([, pipeline]) => pipeline[kind] ?? []));
}

describe('collector config', () => {
  it('is one file behind a symlink', async () => {
    const stat = await lstat(configPath);

    expect(stat.isSymbolicLink()).toBe(true);
    expect(await realpath(configPath)).toBe(await realpath(canonicalConfigPath));
  });

  it.each(['receivers', 'processors', 'exporters'] as const)(
    'defines every %s id that a pipeline uses',
    (kind) => {
      const defined = Object.keys(config[kind]);

      for (const id of referencedIds(kind)) {
        expect(defined, `${kind} id ${id} is used by a pipeline`).toContain(id);
      }
    },
  );

  it.each(['receivers', 'processors', 'exporters'] as const)(
    'uses every defined %s id in a pipeline',
    (kind) => {
      const used = referencedIds(kind);

      for (const id of Object.keys(config[kind])) {
        expect(used.has(id), `${kind} id ${id} is defined but no pipeline uses it`).toBe(true);
      }
    },
  );

  it('enables exactly the defined extensions', () => {
    expect([...config.service.extensions].sort()).toEqual(Object.keys(config.extensions).sort());
  });

  it.each(['receivers', 'processors', 'exporters', 'extensions'] as const)(
    'uses only %s types from the contrib distribution',
    (kind) => {
      for (const id of Object.keys(config[kind])) {
        expect(
          Object.keys(contribComponents[kind]),
          `${kind} type of ${id} is not in the checked list`,
        ).toContain(componentType(id));
      }
    },
  );

  it('does not use the deprecated loki exporter', () => {
    const exporterTypes = Object.keys(config.exporters).map(componentType);

    expect(exporterTypes).not.toContain('loki');
  });

  it.each(pipelines)('orders processors in the %s pipeline', (_name, pipeline) => {
    const processors = pipeline.processors ?? [];

    expect(processors[0]).toBe('memory_limiter');
    expect(processors.at(-1)).toBe('batch');
  });

  it('sends logs to the Loki OTLP endpoint', () => {
    const logExporters = config.service.pipelines.logs?.exporters ?? [];
    const lokiExporters = logExporters.filter((id) => componentType(id) === 'otlp_http');

    expect(lokiExporters).toHaveLength(1);
    const endpoint = envDefault(String(config.exporters[lokiExporters[0] ?? '']?.endpoint));
    expect(endpoint).toMatch(/^http:\/\/loki:3100\/otlp$/);
  });

  it('sets retry and queue on exporters', () => {
    for (const [id, exporter] of Object.entries(config.exporters)) {
      const retry = exporter.retry_on_failure as { enabled?: boolean } | undefined;
      const queue = (exporter.sending_queue ?? exporter.remote_write_queue) as
        { enabled?: boolean; queue_size?: number } | undefined;

      expect(retry?.enabled, `${id} retry_on_failure.enabled`).toBe(true);
      expect(queue?.enabled, `${id} queue enabled`).toBe(true);
      expect(queue?.queue_size, `${id} queue size`).toBeGreaterThan(0);
    }
  });

  it('writes metric names without unit suffixes', () => {
    const remoteWrite = config.exporters.prometheus_remote_write;

    expect(remoteWrite?.translation_strategy).toBe('UnderscoreEscapingWithoutSuffixes');
    expect(remoteWrite?.add_metric_suffixes).toBeUndefined();
  });

  it('maps Knative labels to service name and version', () => {
    const k8s = config.processors.k8s_attributes as {
      pod_association: { sources: { from: string; name?: string }[] }[];
      extract: { labels: { tag_name: string; key: string; from: string }[] };
    };

    expect(k8s.pod_association[0]?.sources).toEqual([
      { from: 'resource_attribute', name: 'k8s.pod.uid' },
    ]);
    expect(k8s.extract.labels).toContainEqual({
      tag_name: 'service.name',
      key: 'serving.knative.dev/service',
      from: 'pod',
    });
    expect(k8s.extract.labels).toContainEqual({
      tag_name: 'service.version',
      key: 'serving.knative.dev/revision',
      from: 'pod',
    });
  });

  it('tails pod logs from the end', () => {
    const fileLog = config.receivers.file_log as {
      include: string[];
      start_at: string;
      include_file_path: boolean;
      storage: string;
      operators: { type: string }[];
    };

    expect(fileLog.include).toEqual(['/var/log/pods/*/*/*.log']);
    expect(fileLog.start_at).toBe('end');
    expect(fileLog.include_file_path).toBe(true);
    expect(fileLog.storage).toBe('file_storage');
    expect(fileLog.operators[0]?.type).toBe('container');
    expect(fileLog.operators.map((operator) => operator.type)).toContain('json_parser');
  });

  it('excludes the collector container from file_log', async () => {
    const daemonSet = parse(await readFile(daemonSetPath, 'utf8')) as {
      spec: { template: { spec: { containers: { name: string }[] } } };
    };
    const containerName = daemonSet.spec.template.spec.containers[0]?.name;
    const fileLog = config.receivers.file_log as { exclude: string[] };

    expect(fileLog.exclude).toContain(`/var/log/pods/*/${containerName}/*.log`);
  });

  it('reads only env vars the DaemonSet sets', async () => {
    const daemonSet = parse(await readFile(daemonSetPath, 'utf8')) as {
      spec: { template: { spec: { containers: { env: { name: string }[] }[] } } };
    };
    const setNames = daemonSet.spec.template.spec.containers[0]?.env.map((env) => env.name);
    const text = await readFile(configPath, 'utf8');
    const readNames = [...text.matchAll(/\$\{env:([A-Z0-9_]+)/g)].map((match) => match[1]);

    expect(readNames.length).toBeGreaterThan(0);
    for (const name of readNames) {
      expect(setNames, `env var ${name} read by the config`).toContain(name);
    }
  });
});
