import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** Renders a kustomize directory with the kubectl on PATH (kubectl 1.32, kustomize v5.5). */
async function renderKustomization(directory: string): Promise<Manifest[]> {
  const { stdout } = await run('kubectl', ['kustomize', `${repoRoot}${directory}`], {
    timeout: 20_000,
  });
  return parseAllDocuments(stdout).map((document) => document.toJSON() as Manifest);
}

function findManifest(manifests: Manifest[], kind: string): Manifest {
  const manifest = manifests.find((candidate) => candidate.kind === kind);
  if (!manifest) throw new Error(`no ${kind} in the rendered manifests`);
  return manifest;
}

const modelsByKind: Record<string, new (data: never) => { validate(): void }> = {
  DaemonSet,
  ConfigMap,
  Service,
  ServiceAccount,
  ClusterRole,
  ClusterRoleBinding,
};

interface Container {
  name: string;
  image: string;
  env: { name: string; value?: string }[];
  ports: { name: string; containerPort: number }[];
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
  livenessProbe?: unknown;
  readinessProbe?: unknown;
}

interface PodSpec {
  serviceAccountName: string;
  containers: Container[];
  volumes: {
    name: string;
    configMap?: { name: string };
    hostPath?: { path: string; type: string };
  }[];
}

describe('k8s/collector manifests', async () => {
  const manifests = await renderKustomization('k8s/collector');
  const daemonSet = findManifest(manifests, 'DaemonSet');
  const podSpec = (daemonSet.spec as { template: { spec: PodSpec } }).template.spec;
  const container = podSpec.containers[0] as Container;
  const collectorConfig = parse(await readFile(`${repoRoot}otel/collector.yaml`, 'utf8')) as {
    extensions: { file_storage: { directory: string } };
  };

  it.each(manifests.map((manifest) => [manifest.kind, manifest] as const))(
    'renders a valid %s',
    (kind, manifest) => {
      const Model = modelsByKind[kind];

      expect(Model, `no schema model for kind ${kind}`).toBeDefined();
      expect(() => new Model!(manifest as never).validate()).not.toThrow();
      expect(manifest.metadata.labels?.['app.kubernetes.io/name']).toBe('otel-collector');
    },
  );

  it('builds the ConfigMap from collector.yaml', async () => {
    const configMap = findManifest(manifests, 'ConfigMap');
    const data = configMap.data as Record<string, string>;
    const mounted = podSpec.volumes.find((volume) => volume.name === 'config');

    expect(data['collector.yaml']).toBe(
      await readFile(`${repoRoot}k8s/collector/collector.yaml`, 'utf8'),
    );
    expect(mounted?.configMap?.name).toBe(configMap.metadata.name);
    expect(container.volumeMounts).toContainEqual(
      expect.objectContaining({ name: 'config', mountPath: '/etc/otelcol' }),
    );
  });

  it('pins the collector-contrib image by tag', () => {
    expect(container.image).toMatch(/^otel\/opentelemetry-collector-contrib:\d+\.\d+\.\d+$/);
  });

  it('mounts pod logs and file storage', () => {
    const podLogs = podSpec.volumes.find((volume) => volume.name === 'pod-logs');
    const fileStorage = podSpec.volumes.find((volume) => volume.name === 'file-storage');

    expect(podLogs?.hostPath?.path).toBe('/var/log/pods');
    expect(container.volumeMounts).toContainEqual({
      name: 'pod-logs',
      mountPath: '/var/log/pods',
      readOnly: true,
    });
    expect(fileStorage?.hostPath?.type).toBe('DirectoryOrCreate');
    expect(container.volumeMounts).toContainEqual(
      expect.objectContaining({
        name: 'file-storage',
        mountPath: collectorConfig.extensions.file_storage.directory,
      }),
    );
  });

  it('hardens the collector container', () => {
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources.requests).toMatchObject({ cpu: '100m', memory: '128Mi' });
    expect(container.resources.limits.memory).toBe('512Mi');
    expect(container.livenessProbe).toBeDefined();
    expect(container.readinessProbe).toBeDefined();
  });

  it('exposes OTLP gRPC and HTTP through the Service', () => {
    const service = findManifest(manifests, 'Service');
    const ports = (service.spec as { ports: { port: number; targetPort: string }[] }).ports;
    const containerPorts = new Map(container.ports.map((port) => [port.name, port.containerPort]));

    expect(ports.map((port) => port.port).sort()).toEqual([4317, 4318]);
    for (const port of ports) {
      expect(containerPorts.get(port.targetPort)).toBe(port.port);
    }
  });

  it('grants k8s_attributes read access', () => {
    const role = findManifest(manifests, 'ClusterRole');
    const binding = findManifest(manifests, 'ClusterRoleBinding');
    const account = findManifest(manifests, 'ServiceAccount');
    const rules = role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    const granted = rules.flatMap((rule) =>
      rule.resources.map((resource) => `${rule.apiGroups[0]}/${resource}`),
    );

    expect(granted.sort()).toEqual(['/namespaces', '/nodes', '/pods', 'apps/replicasets']);
    for (const rule of rules) {
      expect(rule.verbs.sort()).toEqual(['get', 'list', 'watch']);
    }
    expect(binding.subjects).toEqual([
      {
        kind: 'ServiceAccount',
        name: account.metadata.name,
        namespace: account.metadata.namespace,
      },
    ]);
    expect(podSpec.serviceAccountName).toBe(account.metadata.name);
  });
});

describe('otel/grafana manifests', async () => {
  const manifests = await renderKustomization('otel/grafana');

  it('builds the sidecar ConfigMap from JSON', async () => {
    const configMap = findManifest(manifests, 'ConfigMap');
    const data = configMap.data as Record<string, string>;

    expect(manifests).toHaveLength(1);
    expect(configMap.metadata.labels?.grafana_dashboard).toBe('1');
    expect(data['httpserver.json']).toBe(
      await readFile(`${repoRoot}otel/grafana/dashboards/httpserver.json`, 'utf8'),
    );
    expect(() => new ConfigMap(configMap as never).validate()).not.toThrow();
  });

  it('provisions Prometheus and Loki data sources', async () => {
    const provisioning = parse(
      await readFile(`${repoRoot}otel/grafana/provisioning/datasources/httpserver.yaml`, 'utf8'),
    ) as { datasources: { type: string; uid: string; url: string }[] };

    expect(provisioning.datasources.map((source) => source.type).sort()).toEqual([
      'loki',
      'prometheus',
    ]);
    for (const source of provisioning.datasources) {
      expect(source.url).toMatch(/^http:\/\/[a-z-]+:\d+$/);
    }
  });

  it('provisions the dashboard folder', async () => {
    const provisioning = parse(
      await readFile(`${repoRoot}otel/grafana/provisioning/dashboards/httpserver.yaml`, 'utf8'),
    ) as { providers: { type: string; options: { path: string } }[] };

    expect(provisioning.providers).toHaveLength(1);
    expect(provisioning.providers[0]?.type).toBe('file');
    expect(provisioning.providers[0]?.options.path).toMatch(/^\/var\/lib\/grafana\/dashboards/);
  });
});
