import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IService } from 'kubernetes-models/v1/Service';
import { beforeAll, describe, expect, it } from 'vitest';
import { isMap, isScalar, parseAllDocuments, Scalar, visit } from 'yaml';

import { ROOT } from '../support/process.ts';
import { OVERLAYS, renderOverlay, type K8sObject, type OverlayName } from './render.ts';
import { findWorkloads, required, type Workload } from './workloads.ts';

/** Labels every rendered object carries (the Kubernetes recommended labels). */
const STANDARD_LABELS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/managed-by',
];

/** Manifest sources checked for style; k8s/monitoring/prometheusrule.yaml is written elsewhere. */
const SOURCE_DIRS = ['k8s/base', 'k8s/plain', 'k8s/knative'];
const SOURCE_FILES = ['k8s/monitoring/podmonitor.yaml'];

const rendered = new Map<OverlayName, K8sObject[]>();

beforeAll(async () => {
  for (const name of Object.keys(OVERLAYS) as OverlayName[]) {
    rendered.set(name, await renderOverlay(name));
  }
});

function objectsOf(name: OverlayName): K8sObject[] {
  return required(rendered.get(name), `render of ${name}`);
}

/** Returns the one object of this kind in the overlay, failing when there are none or several. */
function one<T>(name: OverlayName, kind: string): T {
  const matches = objectsOf(name).filter((object) => object.kind === kind);

  expect(matches, `${kind} objects in ${name}`).toHaveLength(1);
  return matches[0] as T;
}

function plainWorkload(): { workload: Workload; container: IContainer } {
  const workload = required(findWorkloads(objectsOf('plain'))[0], 'plain workload');
  return { workload, container: required(workload.containers[0], 'container') };
}

function expectSelects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
) {
  const entries = Object.entries(required(selector, 'selector'));

  expect(entries.length).toBeGreaterThan(0);
  for (const [key, value] of entries) {
    expect(labels[key], `pod label ${key}`).toBe(value);
  }
}

/** Lists the manifest source files checked for style, kustomizations included. */
async function sourceFiles(): Promise<string[]> {
  const files = [...SOURCE_FILES];
  for (const dir of SOURCE_DIRS) {
    for (const entry of await readdir(path.join(ROOT, dir))) {
      if (entry.endsWith('.yaml')) files.push(`${dir}/${entry}`);
    }
  }
  return files.sort();
}

describe('labels', () => {
  it.each(Object.keys(OVERLAYS) as OverlayName[])(
    '%s objects carry the standard labels',
    (name) => {
      for (const object of objectsOf(name)) {
        const labels = (object.metadata.labels ?? {}) as Record<string, string>;
        for (const label of STANDARD_LABELS) {
          expect(labels, `${object.kind}/${object.metadata.name}`).toHaveProperty([label]);
        }
      }
    },
  );

  it('pod templates carry name and instance', () => {
    for (const workload of [
      ...findWorkloads(objectsOf('plain')),
      ...findWorkloads(objectsOf('knative')),
    ]) {
      expect(workload.podLabels['app.kubernetes.io/name'], workload.id).toBe('httpserver');
      expect(workload.podLabels['app.kubernetes.io/instance'], workload.id).toBe('httpserver');
    }
  });
});

describe('plain Deployment', () => {
  it('probes startup and liveness on /healthz', () => {
    const { container } = plainWorkload();

    expect(container.startupProbe?.httpGet?.path).toBe('/healthz');
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
  });

  it('probes readiness on /readyz', () => {
    const { container } = plainWorkload();

    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
  });

  it('names every port and probes by name', () => {
    const { container } = plainWorkload();
    const names = (container.ports ?? []).map((port) => port.name);

    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(name).toMatch(/^[a-z][a-z0-9-]{0,14}$/);
    for (const probe of [
      container.startupProbe,
      container.livenessProbe,
      container.readinessProbe,
    ]) {
      expect(names).toContain(probe?.httpGet?.port);
    }
  });

  it('reads configuration from the ConfigMap', () => {
    const { container } = plainWorkload();
    const configMapNames = objectsOf('plain')
      .filter((object) => object.kind === 'ConfigMap')
      .map((object) => object.metadata.name);

    expect(container.envFrom?.length).toBeGreaterThan(0);
    for (const source of container.envFrom ?? []) {
      expect(configMapNames).toContain(source.configMapRef?.name);
    }
  });

  it('leaves the replica count to the HPA', () => {
    const deployment = one<IDeployment>('plain', 'Deployment');

    expect(deployment.spec?.replicas).toBeUndefined();
  });

  it('selects its own pods', () => {
    const { workload } = plainWorkload();
    const deployment = one<IDeployment>('plain', 'Deployment');

    expectSelects(deployment.spec?.selector.matchLabels, workload.podLabels);
  });

  it('spreads pods across nodes', () => {
    const { workload } = plainWorkload();
    const constraints = workload.podSpec.topologySpreadConstraints ?? [];
    const byNode = required(
      constraints.find((constraint) => constraint.topologyKey === 'kubernetes.io/hostname'),
      'spread over kubernetes.io/hostname',
    );

    expect(byNode.maxSkew).toBe(1);
    expectSelects(byNode.labelSelector?.matchLabels, workload.podLabels);
  });

  it('annotates a numeric scrape port', () => {
    const { workload } = plainWorkload();

    expect(workload.podAnnotations['prometheus.io/port']).toMatch(/^\d+$/);
  });
});

describe('plain references', () => {
  it('Service targets a named container port', () => {
    const { workload, container } = plainWorkload();
    const service = one<IService>('plain', 'Service');
    const portNames = (container.ports ?? []).map((port) => port.name);

    expectSelects(service.spec?.selector, workload.podLabels);
    for (const port of service.spec?.ports ?? []) {
      expect(portNames).toContain(port.targetPort);
    }
  });

  it('PodDisruptionBudget selects the pods', () => {
    const { workload } = plainWorkload();
    const budget = one<IPodDisruptionBudget>('plain', 'PodDisruptionBudget');

    expectSelects(budget.spec?.selector?.matchLabels, workload.podLabels);
    expect(budget.spec?.maxUnavailable ?? budget.spec?.minAvailable).toBeDefined();
  });

  it('HPA scales the Deployment with room to spare', () => {
    const autoscaler = one<IHorizontalPodAutoscaler>('plain', 'HorizontalPodAutoscaler');
    const deployment = one<IDeployment>('plain', 'Deployment');
    const budget = one<IPodDisruptionBudget>('plain', 'PodDisruptionBudget');

    expect(autoscaler.spec?.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata?.name,
    });
    // With maxUnavailable 1, a second replica keeps serving through a node drain.
    expect(autoscaler.spec?.minReplicas).toBeGreaterThan(Number(budget.spec?.maxUnavailable ?? 0));
    expect(autoscaler.spec?.maxReplicas).toBeGreaterThan(autoscaler.spec?.minReplicas ?? 1);
  });

  it('Ingress routes to the Service with TLS', () => {
    const ingress = one<IIngress>('plain', 'Ingress');
    const service = one<IService>('plain', 'Service');
    const servicePorts = (service.spec?.ports ?? []).map((port) => port.name);
    const ruleHosts = (ingress.spec?.rules ?? []).map((rule) => rule.host);
    const tlsHosts = (ingress.spec?.tls ?? []).flatMap((tls) => tls.hosts ?? []);

    expect(ruleHosts.length).toBeGreaterThan(0);
    expect(tlsHosts.sort()).toEqual([...ruleHosts].sort());
    for (const tls of ingress.spec?.tls ?? []) expect(tls.secretName).toBeTruthy();
    for (const rule of ingress.spec?.rules ?? []) {
      for (const route of rule.http?.paths ?? []) {
        expect(route.backend.service?.name).toBe(service.metadata?.name);
        expect(servicePorts).toContain(route.backend.service?.port?.name);
      }
    }
  });

  it('Ingress asks cert-manager for the certificate', () => {
    const annotations = one<IIngress>('plain', 'Ingress').metadata?.annotations ?? {};
    const issuerKeys = Object.keys(annotations).filter(
      (key) => key === 'cert-manager.io/cluster-issuer' || key === 'cert-manager.io/issuer',
    );

    expect(issuerKeys).toHaveLength(1);
  });

  it('ships no key material', () => {
    for (const name of Object.keys(OVERLAYS) as OverlayName[]) {
      expect(objectsOf(name).map((object) => object.kind)).not.toContain('Secret');
    }
  });
});

describe('Knative references', () => {
  it('envFrom names the generated ConfigMap', () => {
    // Kustomize renames references to generated ConfigMaps only in fields listed in its
    // configuration. Knative Services are not listed unless k8s/knative/kustomizeconfig.yaml
    // adds them.
    const objects = objectsOf('knative');
    const workload = required(findWorkloads(objects)[0], 'Knative workload');
    const configMapNames = objects
      .filter((object) => object.kind === 'ConfigMap')
      .map((object) => object.metadata.name);

    for (const container of workload.containers) {
      for (const source of container.envFrom ?? []) {
        expect(configMapNames).toContain(source.configMapRef?.name);
      }
    }
  });
});

describe('source YAML', () => {
  it('quotes every annotation value', async () => {
    const unquoted: string[] = [];
    for (const file of await sourceFiles()) {
      const text = await readFile(path.join(ROOT, file), 'utf8');
      for (const document of parseAllDocuments(text)) {
        visit(document, {
          Pair(_key, pair) {
            if (!isScalar(pair.key) || pair.key.value !== 'annotations' || !isMap(pair.value))
              return;
            for (const item of pair.value.items) {
              const quoted =
                isScalar(item.value) &&
                (item.value.type === Scalar.QUOTE_DOUBLE ||
                  item.value.type === Scalar.QUOTE_SINGLE);
              if (!quoted)
                unquoted.push(`${file}: ${String(isScalar(item.key) ? item.key.value : item.key)}`);
            }
          },
        });
      }
    }

    expect(unquoted).toEqual([]);
  });

  it('finds the source files', async () => {
    const files = await sourceFiles();

    expect(files).toContain('k8s/plain/deployment.yaml');
    expect(files).toContain('k8s/knative/service.yaml');
  });
});
