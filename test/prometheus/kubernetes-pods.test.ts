import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { ROOT, startService, type RunningService } from '../support/process.ts';
import { startPrometheus, type TestPrometheus } from '../support/prometheus.ts';

// Runs the relabel rules of the kubernetes-pods job on a real Prometheus. Debian's
// Prometheus has no Kubernetes service discovery, so file_sd_configs feeds it the labels
// that Kubernetes pod discovery would produce. Every pod IP is a loopback address and every
// annotated port is the test's own service, so the scrapes it keeps reach that service.

interface ActiveTarget {
  scrapePool: string;
  scrapeUrl: string;
  labels: Record<string, string>;
  health: string;
}

interface DroppedTarget {
  discoveredLabels: Record<string, string>;
}

let directory: string;
let service: RunningService;
let prometheus: TestPrometheus;

/** Target groups as Kubernetes pod discovery emits them: one per declared container port. */
function podTargetGroups(
  pod: {
    name: string;
    namespace: string;
    ip: string;
    phase?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  },
  containerPorts: { container: string; port: number }[],
): { targets: string[]; labels: Record<string, string> }[] {
  const host = pod.ip.includes(':') ? `[${pod.ip}]` : pod.ip;
  const podLabels: Record<string, string> = {
    __meta_kubernetes_namespace: pod.namespace,
    __meta_kubernetes_pod_name: pod.name,
    __meta_kubernetes_pod_ip: pod.ip,
    __meta_kubernetes_pod_phase: pod.phase ?? 'Running',
  };
  for (const [key, value] of Object.entries(pod.annotations ?? {})) {
    podLabels[`__meta_kubernetes_pod_annotation_${key.replace(/[^a-zA-Z0-9]/g, '_')}`] = value;
  }
  for (const [key, value] of Object.entries(pod.labels ?? {})) {
    podLabels[`__meta_kubernetes_pod_label_${key.replace(/[^a-zA-Z0-9]/g, '_')}`] = value;
  }
  return containerPorts.map(({ container, port }) => ({
    targets: [`${host}:${port}`],
    labels: {
      ...podLabels,
      __meta_kubernetes_pod_container_name: container,
      __meta_kubernetes_pod_container_port_number: String(port),
    },
  }));
}

async function fetchTargets(): Promise<{
  activeTargets: ActiveTarget[];
  droppedTargets: DroppedTarget[];
}> {
  const response = await fetch(new URL('api/v1/targets', prometheus.url));
  const body = (await response.json()) as {
    data: { activeTargets: ActiveTarget[]; droppedTargets: DroppedTarget[] };
  };
  return body.data;
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'httpserver-kubernetes-sd-'));
  service = await startService();
  const port = service.port;
  const scrape = { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port) };

  const groups = [
    // A Knative pod: the user container and queue-proxy's four ports.
    ...podTargetGroups(
      {
        name: 'httpserver-00001-deployment-5f7d8-abcde',
        namespace: 'demo',
        ip: '127.0.0.1',
        annotations: { ...scrape, 'prometheus.io/path': '/metrics' },
        labels: {
          'app.kubernetes.io/name': 'httpserver',
          'serving.knative.dev/service': 'httpserver',
          'serving.knative.dev/revision': 'httpserver-00001',
        },
      },
      [
        { container: 'user-container', port },
        { container: 'queue-proxy', port: 8012 },
        { container: 'queue-proxy', port: 8022 },
        { container: 'queue-proxy', port: 9090 },
        { container: 'queue-proxy', port: 9091 },
      ],
    ),
    ...podTargetGroups(
      {
        name: 'httpserver-6c9b7-xyz12',
        namespace: 'shop',
        ip: '::1',
        annotations: scrape,
        labels: { 'app.kubernetes.io/name': 'httpserver' },
      },
      [{ container: 'httpserver', port: 8080 }],
    ),
    ...podTargetGroups(
      { name: 'unlabelled', namespace: 'demo', ip: '127.0.0.1', annotations: scrape },
      [{ container: 'app', port }],
    ),
    ...podTargetGroups({ name: 'not-annotated', namespace: 'demo', ip: '127.0.0.1' }, [
      { container: 'app', port: 8080 },
    ]),
    ...podTargetGroups(
      {
        name: 'named-port',
        namespace: 'demo',
        ip: '127.0.0.1',
        annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': 'http' },
      },
      [{ container: 'app', port: 8080 }],
    ),
    ...podTargetGroups(
      {
        name: 'finished-job',
        namespace: 'demo',
        ip: '127.0.0.1',
        phase: 'Succeeded',
        annotations: scrape,
      },
      [{ container: 'app', port }],
    ),
  ];
  const targetsFile = join(directory, 'pods.json');
  writeFileSync(targetsFile, JSON.stringify(groups));

  const config = parse(
    readFileSync(join(ROOT, 'otel/prometheus/prometheus-kubernetes.yml'), 'utf8'),
  ) as { scrape_configs: Record<string, unknown>[] };
  const podJob = config.scrape_configs.find((job) => job.job_name === 'kubernetes-pods');
  if (podJob === undefined) throw new Error('prometheus-kubernetes.yml has no kubernetes-pods job');
  const fileDiscoveryJob: Record<string, unknown> = {
    ...podJob,
    file_sd_configs: [{ files: [targetsFile] }],
  };
  delete fileDiscoveryJob.kubernetes_sd_configs;

  prometheus = await startPrometheus({
    target: `127.0.0.1:${port}`,
    extraScrapeConfigs: [fileDiscoveryJob],
  });
  await prometheus.waitForScrapes(2);
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await service?.stop();
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
});

describe('kubernetes-pods relabelling', () => {
  it('keeps three annotated running pods', async () => {
    const { activeTargets } = await fetchTargets();
    const podTargets = activeTargets.filter((target) => target.scrapePool === 'kubernetes-pods');

    expect(podTargets.map((target) => target.scrapeUrl).sort()).toEqual([
      `http://127.0.0.1:${service.port}/metrics`,
      `http://127.0.0.1:${service.port}/metrics`,
      `http://[::1]:${service.port}/metrics`,
    ]);
  });

  it('scrapes a Knative pod once', async () => {
    const { activeTargets } = await fetchTargets();
    const knative = activeTargets.filter((target) => target.labels.namespace === 'demo');
    const knativeService = knative.filter((target) => target.labels.job === 'demo/httpserver');

    expect(knativeService).toHaveLength(1);
    expect(knativeService[0]?.labels).toEqual({
      instance: `127.0.0.1:${service.port}`,
      job: 'demo/httpserver',
      namespace: 'demo',
      pod: 'httpserver-00001-deployment-5f7d8-abcde',
      knative_service: 'httpserver',
      knative_revision: 'httpserver-00001',
    });
  });

  it('brackets an IPv6 pod address', async () => {
    const { activeTargets } = await fetchTargets();
    const ipv6 = activeTargets.find((target) => target.labels.namespace === 'shop');

    expect(ipv6?.labels.instance).toBe(`[::1]:${service.port}`);
    expect(ipv6?.labels.job).toBe('shop/httpserver');
  });

  it('keeps job name without app label', async () => {
    const { activeTargets } = await fetchTargets();
    const unlabelled = activeTargets.find((target) => target.labels.pod === 'unlabelled');

    expect(unlabelled?.labels.job).toBe('kubernetes-pods');
  });

  it('drops pods that do not opt in', async () => {
    const { droppedTargets } = await fetchTargets();
    const droppedPods = droppedTargets.map(
      (target) => target.discoveredLabels.__meta_kubernetes_pod_name,
    );

    expect(droppedPods.sort()).toEqual(['finished-job', 'named-port', 'not-annotated']);
  });

  it('scrapes the kept pods successfully', async () => {
    // Each target's first scrape lands within one 1 s interval of the others.
    let up = await prometheus.query('up{job=~"(.+/)?httpserver|kubernetes-pods"}');
    for (let attempt = 0; attempt < 50 && up.length < 4; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      up = await prometheus.query('up{job=~"(.+/)?httpserver|kubernetes-pods"}');
    }
    const byJob: Record<string, number> = {};
    for (const sample of up) byJob[sample.metric.job ?? ''] = sample.value;

    expect(byJob).toEqual({
      httpserver: 1,
      'demo/httpserver': 1,
      'shop/httpserver': 1,
      'kubernetes-pods': 1,
    });
  });
});
