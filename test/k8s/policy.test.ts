import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { beforeAll, describe, expect, it } from 'vitest';

import { renderOverlay, type K8sObject } from './render.ts';
import { findWorkloads, required, type Workload } from './workloads.ts';

/**
 * Lists every way a workload breaks the hardening policy. Each container needs CPU and
 * memory requests and limits, a numeric non-root user and group, no privilege escalation,
 * a read-only root filesystem with an emptyDir on /tmp, no capabilities and the runtime's
 * default seccomp profile. The pod shares no host namespace and mounts no token.
 *
 * Knative revisions may omit runAsGroup, because Knative accepts it only behind the
 * kubernetes.podspec-securitycontext feature flag.
 */
function policyViolations(workload: Workload): string[] {
  const violations: string[] = [];
  const podSpec = workload.podSpec;

  if (podSpec.automountServiceAccountToken !== false) {
    violations.push(`${workload.id}: automountServiceAccountToken must be false`);
  }
  if (podSpec.hostNetwork === true || podSpec.hostPID === true || podSpec.hostIPC === true) {
    violations.push(`${workload.id}: must not share host namespaces`);
  }
  if (workload.containers.length === 0) violations.push(`${workload.id}: has no containers`);

  for (const container of [...workload.containers, ...(podSpec.initContainers ?? [])]) {
    const where = `${workload.id} container ${container.name}`;
    violations.push(...resourceViolations(container).map((text) => `${where}: ${text}`));
    violations.push(
      ...securityViolations(container, workload.isKnative).map((text) => `${where}: ${text}`),
    );

    const securityContext = container.securityContext;
    if (
      securityContext?.readOnlyRootFilesystem === true &&
      !mountsEmptyDirOnTmp(workload, container)
    ) {
      violations.push(`${where}: needs an emptyDir on /tmp with a read-only root filesystem`);
    }
  }
  return violations;
}

function resourceViolations(container: IContainer): string[] {
  const violations: string[] = [];
  for (const kind of ['requests', 'limits'] as const) {
    for (const resource of ['cpu', 'memory']) {
      if (container.resources?.[kind]?.[resource] === undefined) {
        violations.push(`resources.${kind}.${resource} is missing`);
      }
    }
  }
  return violations;
}

function securityViolations(container: IContainer, isKnative: boolean): string[] {
  const context = container.securityContext;
  if (context === undefined) return ['securityContext is missing'];

  const violations: string[] = [];
  if (context.runAsNonRoot !== true) violations.push('runAsNonRoot must be true');
  if (!isPositiveInteger(context.runAsUser))
    violations.push('runAsUser must be a numeric non-root user');
  if (context.runAsGroup !== undefined || !isKnative) {
    if (!isPositiveInteger(context.runAsGroup))
      violations.push('runAsGroup must be a numeric non-root group');
  }
  if (context.allowPrivilegeEscalation !== false)
    violations.push('allowPrivilegeEscalation must be false');
  if (context.privileged === true) violations.push('privileged must not be true');
  if (context.readOnlyRootFilesystem !== true)
    violations.push('readOnlyRootFilesystem must be true');
  if (!(context.capabilities?.drop ?? []).includes('ALL'))
    violations.push('capabilities.drop must contain ALL');
  if ((context.capabilities?.add ?? []).length > 0)
    violations.push('capabilities.add must be empty');

  const seccompType = context.seccompProfile?.type;
  if (seccompType !== 'RuntimeDefault' && seccompType !== 'Localhost') {
    violations.push('seccompProfile.type must be RuntimeDefault or Localhost');
  }
  return violations;
}

function isPositiveInteger(value: number | undefined): boolean {
  return value !== undefined && Number.isInteger(value) && value > 0;
}

function mountsEmptyDirOnTmp(workload: Workload, container: IContainer): boolean {
  const mount = container.volumeMounts?.find((candidate) => candidate.mountPath === '/tmp');
  if (mount === undefined) return false;

  const volume = workload.podSpec.volumes?.find((candidate) => candidate.name === mount.name);
  return volume?.emptyDir !== undefined;
}

/**
 * Derives the pod's QoS class as the kubelet does: Guaranteed when every container's CPU
 * and memory requests equal its limits, BestEffort when none sets any, else Burstable.
 */
function qosClass(containers: readonly IContainer[]): string {
  const anySet = containers.some(
    (container) =>
      Object.keys(container.resources?.requests ?? {}).length > 0 ||
      Object.keys(container.resources?.limits ?? {}).length > 0,
  );
  if (!anySet) return 'BestEffort';

  const guaranteed = containers.every((container) =>
    ['cpu', 'memory'].every((resource) => {
      const limit = container.resources?.limits?.[resource];
      const request = container.resources?.requests?.[resource] ?? limit;
      return limit !== undefined && String(request) === String(limit);
    }),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

let objects: K8sObject[];
let workloads: Workload[];

beforeAll(async () => {
  objects = [...(await renderOverlay('plain')), ...(await renderOverlay('knative'))];
  workloads = findWorkloads(objects);
});

/** Returns a deep copy of the plain Deployment's workload, for breaking on purpose. */
function brokenCopy(): { workload: Workload; container: IContainer } {
  const original = required(
    workloads.find((candidate) => !candidate.isKnative),
    'plain workload',
  );
  const workload = structuredClone(original);
  return { workload, container: required(workload.containers[0], 'container') };
}

describe('workload policy', () => {
  it('finds both workloads', () => {
    expect(workloads.map((workload) => workload.id).sort()).toEqual([
      'Deployment/httpserver',
      'Knative Service/httpserver',
    ]);
  });

  it('holds for every rendered workload', () => {
    expect(workloads.flatMap(policyViolations)).toEqual([]);
  });

  it('gives each workload the stated QoS class', () => {
    // The manifests explain the choice of Burstable next to their resources.
    for (const workload of workloads) {
      expect(qosClass(workload.containers), workload.id).toBe('Burstable');
    }
  });

  it('reserves all the memory it limits', () => {
    for (const workload of workloads) {
      for (const container of workload.containers) {
        expect(container.resources?.requests?.memory, workload.id).toBe(
          container.resources?.limits?.memory,
        );
      }
    }
  });

  it('pins every image to a tag or digest', () => {
    for (const workload of workloads) {
      for (const container of workload.containers) {
        const image = required(container.image, `${workload.id} image`);

        expect(image, 'registry path in lower case').toMatch(
          /^[a-z0-9./_-]+(:[\w.-]+)?(@sha256:[a-f0-9]{64})?$/,
        );
        expect(image, 'tag or digest').toMatch(/:[\w.-]+$|@sha256:/);
        expect(image).not.toMatch(/:latest$/);
      }
    }
  });

  it('disables the service account token', () => {
    const account = required(
      objects.find((object) => object.kind === 'ServiceAccount') as IServiceAccount | undefined,
      'ServiceAccount',
    );

    expect(account.automountServiceAccountToken).toBe(false);
    for (const workload of workloads) {
      expect(workload.podSpec.serviceAccountName, workload.id).toBe(account.metadata?.name);
    }
  });
});

describe('policy check', () => {
  it('reports missing limits', () => {
    const { workload, container } = brokenCopy();
    delete container.resources?.limits;

    expect(policyViolations(workload)).toEqual([
      'Deployment/httpserver container httpserver: resources.limits.cpu is missing',
      'Deployment/httpserver container httpserver: resources.limits.memory is missing',
    ]);
  });

  it('reports privilege escalation', () => {
    const { workload, container } = brokenCopy();
    Object.assign(required(container.securityContext, 'securityContext'), {
      allowPrivilegeEscalation: true,
    });

    expect(policyViolations(workload)).toEqual([
      'Deployment/httpserver container httpserver: allowPrivilegeEscalation must be false',
    ]);
  });

  it('reports a root or missing user', () => {
    const { workload, container } = brokenCopy();
    Object.assign(required(container.securityContext, 'securityContext'), {
      runAsNonRoot: undefined,
      runAsUser: 0,
    });

    expect(policyViolations(workload)).toEqual([
      'Deployment/httpserver container httpserver: runAsNonRoot must be true',
      'Deployment/httpserver container httpserver: runAsUser must be a numeric non-root user',
    ]);
  });

  it('reports a writable root filesystem', () => {
    const { workload, container } = brokenCopy();
    Object.assign(required(container.securityContext, 'securityContext'), {
      readOnlyRootFilesystem: false,
    });

    expect(policyViolations(workload)).toEqual([
      'Deployment/httpserver container httpserver: readOnlyRootFilesystem must be true',
    ]);
  });

  it('reports /tmp without an emptyDir', () => {
    const { workload, container } = brokenCopy();
    container.volumeMounts = [];

    expect(policyViolations(workload)).toEqual([
      'Deployment/httpserver container httpserver: needs an emptyDir on /tmp with a read-only root filesystem',
    ]);
  });

  it('reports kept capabilities and seccomp off', () => {
    const { workload, container } = brokenCopy();
    Object.assign(required(container.securityContext, 'securityContext'), {
      capabilities: { add: ['NET_ADMIN'] },
      seccompProfile: { type: 'Unconfined' },
    });

    expect(policyViolations(workload)).toEqual([
      'Deployment/httpserver container httpserver: capabilities.drop must contain ALL',
      'Deployment/httpserver container httpserver: capabilities.add must be empty',
      'Deployment/httpserver container httpserver: seccompProfile.type must be RuntimeDefault or Localhost',
    ]);
  });

  it('reports a mounted token', () => {
    const { workload } = brokenCopy();
    Object.assign(workload.podSpec, { automountServiceAccountToken: undefined });

    expect(policyViolations(workload)).toEqual([
      'Deployment/httpserver: automountServiceAccountToken must be false',
    ]);
  });

  it('derives QoS classes like the kubelet', () => {
    const container = (requests: Record<string, string>, limits: Record<string, string>) => ({
      name: 'c',
      resources: { requests, limits },
    });

    expect(qosClass([container({}, {})])).toBe('BestEffort');
    expect(qosClass([container({ cpu: '1', memory: '1Gi' }, { cpu: '1', memory: '1Gi' })])).toBe(
      'Guaranteed',
    );
    expect(qosClass([container({}, { cpu: '1', memory: '1Gi' })])).toBe('Guaranteed');
    expect(qosClass([container({ cpu: '100m', memory: '1Gi' }, { cpu: '1', memory: '1Gi' })])).toBe(
      'Burstable',
    );
  });
});
