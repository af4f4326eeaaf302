import type { IPodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import type { IService as IKnativeService } from '@kubernetes-models/knative/serving.knative.dev/v1/Service';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  OVERLAYS,
  renderKustomization,
  renderOverlay,
  type K8sObject,
  type OverlayName,
} from './render.ts';
import { validateStrict } from './strict-schema.ts';
import { required } from './workloads.ts';

const OVERLAY_NAMES = Object.keys(OVERLAYS) as OverlayName[];

/** The kinds each overlay must render, as apiVersion/kind, sorted. */
const EXPECTED_KINDS: Record<OverlayName, string[]> = {
  plain: [
    'apps/v1/Deployment',
    'autoscaling/v2/HorizontalPodAutoscaler',
    'networking.k8s.io/v1/Ingress',
    'policy/v1/PodDisruptionBudget',
    'v1/ConfigMap',
    'v1/Service',
    'v1/ServiceAccount',
  ],
  knative: ['serving.knative.dev/v1/Service', 'v1/ConfigMap', 'v1/ServiceAccount'],
  monitoring: ['monitoring.coreos.com/v1/PodMonitor', 'monitoring.coreos.com/v1/PrometheusRule'],
};

const rendered = new Map<OverlayName, K8sObject[]>();

beforeAll(async () => {
  for (const name of OVERLAY_NAMES) rendered.set(name, await renderOverlay(name));
});

function renderedObjects(name: OverlayName): K8sObject[] {
  const objects = rendered.get(name);
  if (objects === undefined) throw new Error(`overlay ${name} was not rendered`);
  return objects;
}

/** Returns a deep copy of the one rendered object of this kind, for breaking on purpose. */
function copyOf<T>(name: OverlayName, apiVersion: string, kind: string): T {
  const object = renderedObjects(name).find(
    (candidate) => candidate.apiVersion === apiVersion && candidate.kind === kind,
  );
  return structuredClone(required(object, `${apiVersion} ${kind} in overlay ${name}`)) as T;
}

function deploymentCopy() {
  const deployment = copyOf<IDeployment>('plain', 'apps/v1', 'Deployment');
  const template = required(deployment.spec?.template, 'spec.template');
  const podSpec = required(template.spec, 'pod spec');
  const container = required(podSpec.containers[0], 'first container');
  return { deployment, template, podSpec, container };
}

describe('rendered overlays', () => {
  it.each(OVERLAY_NAMES)('%s renders the expected kinds', (name) => {
    const kinds = renderedObjects(name)
      .map((object) => `${object.apiVersion}/${object.kind}`)
      .sort();

    expect(kinds).toEqual(EXPECTED_KINDS[name]);
  });

  it.each(OVERLAY_NAMES)('%s objects match their published schemas', (name) => {
    const problems = renderedObjects(name).flatMap(validateStrict);

    expect(problems).toEqual([]);
  });
});

describe('strict schema validation', () => {
  it('rejects an unknown top-level field', () => {
    const { deployment } = deploymentCopy();
    Object.assign(deployment, { specs: deployment.spec });

    expect(validateStrict(deployment)).toEqual(['Deployment/httpserver: unknown field "specs"']);
  });

  it('rejects a misspelt container field', () => {
    const { deployment, container } = deploymentCopy();
    Object.assign(container, { livenesProbe: container.livenessProbe });
    delete container.livenessProbe;

    expect(validateStrict(deployment)).toEqual([
      'Deployment/httpserver: unknown field "spec.template.spec.containers[0].livenesProbe"',
    ]);
  });

  it('rejects an unknown field in the Knative revision', () => {
    const service = copyOf<IKnativeService>('knative', 'serving.knative.dev/v1', 'Service');
    Object.assign(required(service.spec?.template?.spec, 'revision spec'), {
      containerConcurency: 10,
    });

    expect(validateStrict(service)).toEqual([
      'Service/httpserver: unknown field "spec.template.spec.containerConcurency"',
    ]);
  });

  it('rejects an unknown field in a PodMonitor endpoint', () => {
    const podMonitor = copyOf<IPodMonitor>('monitoring', 'monitoring.coreos.com/v1', 'PodMonitor');
    const endpoint = required(podMonitor.spec.podMetricsEndpoints?.[0], 'first endpoint');
    Object.assign(endpoint, { metricsPath: '/metrics' });

    expect(validateStrict(podMonitor)).toEqual([
      'PodMonitor/httpserver: unknown field "spec.podMetricsEndpoints[0].metricsPath"',
    ]);
  });

  it('rejects a value of the wrong type', () => {
    const { deployment, container } = deploymentCopy();
    Object.assign(required(container.ports?.[0], 'first port'), { containerPort: '8080' });

    const problems = validateStrict(deployment);

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/containers\/0\/ports\/0\/containerPort must be integer/);
  });

  it('rejects a missing required field', () => {
    const { deployment } = deploymentCopy();
    Object.assign(required(deployment.spec, 'spec'), { selector: undefined });

    const problems = validateStrict(deployment);

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/spec must have required property .?selector/);
  });

  it('rejects a kind without a schema', () => {
    const object = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };

    expect(validateStrict(object)).toEqual([
      'Widget/w: no schema for apiVersion example.com/v1 kind Widget; add its kubernetes-models class to MODELS',
    ]);
  });

  it('accepts any key in labels and annotations', () => {
    const { deployment, template } = deploymentCopy();
    required(deployment.metadata?.labels, 'labels')['example.com/team'] = 'platform';
    required(template.metadata?.annotations, 'annotations')['example.com/note'] = 'any key';

    expect(validateStrict(deployment)).toEqual([]);
  });
});

describe('renderKustomization', () => {
  it('names kubectl when it is missing', async () => {
    await expect(renderKustomization(OVERLAYS.plain, 'kubectl-missing-for-test')).rejects.toThrow(
      /kubectl-missing-for-test was not found on PATH.*install kubectl/,
    );
  });

  it('reports the kustomize error for a bad directory', async () => {
    await expect(renderKustomization('k8s/no-such-overlay')).rejects.toThrow(
      /kubectl kustomize k8s\/no-such-overlay failed/,
    );
  });
});
