import type { IService as IKnativeService } from '@kubernetes-models/knative/serving.knative.dev/v1/Service';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';

import type { K8sObject } from './render.ts';

/** Returns the value, or throws naming what was missing. */
export function required<T>(value: T | null | undefined, description: string): T {
  if (value === null || value === undefined) throw new Error(`${description} is missing`);
  return value;
}

/** Pod spec fields that Knative adds to the Kubernetes PodSpec of a revision. */
export interface RevisionFields {
  readonly containerConcurrency?: number;
  readonly timeoutSeconds?: number;
}

/** A pod template from a rendered Deployment or Knative Service, with its identity. */
export interface Workload {
  /** Kind/name of the object that contains the template. */
  readonly id: string;
  readonly isKnative: boolean;
  readonly podLabels: Readonly<Record<string, string>>;
  readonly podAnnotations: Readonly<Record<string, string>>;
  readonly podSpec: IPodSpec & RevisionFields;
  readonly containers: readonly IContainer[];
}

/** Finds every pod template among the rendered objects. */
export function findWorkloads(objects: readonly K8sObject[]): Workload[] {
  const workloads: Workload[] = [];
  for (const object of objects) {
    if (object.apiVersion === 'apps/v1' && object.kind === 'Deployment') {
      const template = required((object as IDeployment).spec?.template, 'Deployment spec.template');
      const podSpec = required(template.spec, 'Deployment pod spec');
      workloads.push({
        id: `Deployment/${object.metadata.name}`,
        isKnative: false,
        podLabels: template.metadata?.labels ?? {},
        podAnnotations: template.metadata?.annotations ?? {},
        podSpec,
        containers: podSpec.containers,
      });
    }
    if (object.apiVersion === 'serving.knative.dev/v1' && object.kind === 'Service') {
      const template = required(
        (object as IKnativeService).spec?.template,
        'Knative spec.template',
      );
      const podSpec = required(template.spec, 'Knative revision spec');
      workloads.push({
        id: `Knative Service/${object.metadata.name}`,
        isKnative: true,
        podLabels: template.metadata?.labels ?? {},
        podAnnotations: template.metadata?.annotations ?? {},
        podSpec,
        containers: podSpec.containers,
      });
    }
  }
  return workloads;
}

/** Returns the ConfigMap with this name from the same render. */
export function findConfigMap(objects: readonly K8sObject[], name: string): IConfigMap {
  const configMap = objects.find(
    (object) => object.kind === 'ConfigMap' && object.metadata.name === name,
  );
  return required(configMap as IConfigMap | undefined, `ConfigMap ${name} in the same render`);
}

/**
 * Collects the environment that a container receives from its manifest: every key of the
 * ConfigMaps in envFrom, then every `env` entry with a literal value or a ConfigMap key,
 * in the order Kubernetes applies them (env wins over envFrom).
 *
 * @throws Error for a source this function cannot resolve offline (a Secret, a field
 *   reference), so a manifest cannot hide a variable from the checks.
 */
export function containerEnvironment(
  container: IContainer,
  objects: readonly K8sObject[],
): Record<string, string> {
  const environment: Record<string, string> = {};

  for (const source of container.envFrom ?? []) {
    const name = required(
      source.configMapRef?.name,
      `envFrom source of ${container.name} (only ConfigMaps are supported)`,
    );
    const data = findConfigMap(objects, name).data ?? {};
    for (const [key, value] of Object.entries(data))
      environment[`${source.prefix ?? ''}${key}`] = value;
  }

  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) {
      environment[variable.name] = variable.value;
      continue;
    }
    const reference = required(
      variable.valueFrom?.configMapKeyRef,
      `a literal value or configMapKeyRef for ${variable.name} in ${container.name}`,
    );
    const data =
      findConfigMap(objects, required(reference.name, `ConfigMap name for ${variable.name}`))
        .data ?? {};
    environment[variable.name] = required(
      data[reference.key],
      `key ${reference.key} for ${variable.name}`,
    );
  }
  return environment;
}
