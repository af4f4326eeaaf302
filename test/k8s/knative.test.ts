import type { IContainer } from 'kubernetes-models/v1/Container';
import { beforeAll, describe, expect, it } from 'vitest';

import { parseConfig } from '../../src/config/config.ts';
import { renderOverlay, type K8sObject } from './render.ts';
import { containerEnvironment, findWorkloads, required, type Workload } from './workloads.ts';

// The rules below restate what Knative Serving's admission webhook accepts with the default
// config-features and config-defaults, from knative/serving pkg/apis/serving (fieldmask.go,
// k8s_validation.go) and the Knative docs on feature flags and config-defaults. The schema
// test cannot see them: Knative's published schema allows the whole Kubernetes PodSpec.

/** Revision pod spec fields that need no feature flag. */
const ALLOWED_POD_SPEC_FIELDS = [
  'serviceAccountName',
  'containers',
  'volumes',
  'imagePullSecrets',
  'enableServiceLinks',
  'automountServiceAccountToken',
  // Knative's own revision fields.
  'containerConcurrency',
  'timeoutSeconds',
  'idleTimeoutSeconds',
  'responseStartTimeoutSeconds',
];

/** Container fields Knative accepts. It rejects lifecycle, stdin, tty and volumeDevices. */
const ALLOWED_CONTAINER_FIELDS = [
  'name',
  'args',
  'command',
  'env',
  'workingDir',
  'envFrom',
  'image',
  'imagePullPolicy',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'ports',
  'resources',
  'securityContext',
  'terminationMessagePath',
  'terminationMessagePolicy',
  'volumeMounts',
];

/**
 * Container securityContext fields that need no feature flag. runAsGroup needs the
 * kubernetes.podspec-securitycontext flag, and capabilities.add needs
 * kubernetes.containerspec-addcapabilities.
 */
const ALLOWED_SECURITY_CONTEXT_FIELDS = [
  'capabilities',
  'readOnlyRootFilesystem',
  'runAsUser',
  'runAsNonRoot',
  'allowPrivilegeEscalation',
  'seccompProfile',
  'privileged',
];

/** Variables Knative sets itself and rejects in a manifest. */
const RESERVED_ENV_VARS = ['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION'];

/** Ports of the queue-proxy sidecar (8012, 8013, 8022, 9090, 9091) and its profiling port. */
const RESERVED_PORTS = [8012, 8013, 8022, 9090, 9091, 8008];

const VALID_PORT_NAMES = ['', 'http1', 'h2c'];

/** Autoscaling annotations in their current kebab-case form. */
const AUTOSCALING_KEYS = [
  'autoscaling.knative.dev/class',
  'autoscaling.knative.dev/metric',
  'autoscaling.knative.dev/target',
  'autoscaling.knative.dev/min-scale',
  'autoscaling.knative.dev/max-scale',
];

/** Default max-revision-timeout-seconds in config-defaults. */
const MAX_REVISION_TIMEOUT_SECONDS = 600;

/** Default container-concurrency-max-limit in config-defaults. */
const CONTAINER_CONCURRENCY_MAX = 1000;

let objects: K8sObject[];
let workload: Workload;
let container: IContainer;

beforeAll(async () => {
  objects = await renderOverlay('knative');
  const workloads = findWorkloads(objects);

  expect(workloads).toHaveLength(1);
  workload = required(workloads[0], 'Knative workload');
  container = required(workload.containers[0], 'Knative container');
});

function unexpectedKeys(value: object | undefined, allowed: readonly string[]): string[] {
  return Object.keys(value ?? {}).filter((key) => !allowed.includes(key));
}

describe('Knative Service', () => {
  it('runs exactly one container', () => {
    expect(workload.containers).toHaveLength(1);
  });

  it('declares exactly one port', () => {
    expect(container.ports).toHaveLength(1);
  });

  it('names the port for the queue-proxy', () => {
    const port = required(container.ports?.[0], 'port');

    expect(VALID_PORT_NAMES).toContain(port.name ?? '');
    expect(port.protocol ?? 'TCP').toBe('TCP');
    expect(RESERVED_PORTS).not.toContain(port.containerPort);
  });

  it('keeps METRICS_PORT undeclared and unreserved', () => {
    const environment = containerEnvironment(container, objects);
    const metricsPort = Number(required(environment.METRICS_PORT, 'METRICS_PORT'));
    const declared = (container.ports ?? []).map((port) => port.containerPort);

    expect(declared).not.toContain(metricsPort);
    // The queue-proxy listens on the reserved ports in the same network namespace.
    expect(RESERVED_PORTS).not.toContain(metricsPort);
  });

  it('sets no reserved variables', () => {
    const fromEnv = (container.env ?? []).map((variable) => variable.name);
    const fromManifest = Object.keys(containerEnvironment(container, objects));

    for (const name of RESERVED_ENV_VARS) {
      expect(fromEnv, `env sets ${name}`).not.toContain(name);
      expect(fromManifest, `envFrom sets ${name}`).not.toContain(name);
    }
  });

  it('uses only pod spec fields without flags', () => {
    expect(unexpectedKeys(workload.podSpec, ALLOWED_POD_SPEC_FIELDS)).toEqual([]);
  });

  it('sets automountServiceAccountToken only to false', () => {
    expect(workload.podSpec.automountServiceAccountToken).toBe(false);
  });

  it('uses only container fields Knative accepts', () => {
    expect(unexpectedKeys(container, ALLOWED_CONTAINER_FIELDS)).toEqual([]);
    expect(container.lifecycle).toBeUndefined();
  });

  it('sets no terminationGracePeriodSeconds', () => {
    expect(workload.podSpec.terminationGracePeriodSeconds).toBeUndefined();
  });

  it('uses only securityContext fields without flags', () => {
    const securityContext = required(container.securityContext, 'securityContext');

    expect(unexpectedKeys(securityContext, ALLOWED_SECURITY_CONTEXT_FIELDS)).toEqual([]);
    expect(securityContext.capabilities?.add).toBeUndefined();
    expect(securityContext.privileged ?? false).toBe(false);
  });

  it('mounts only volume kinds Knative accepts', () => {
    for (const volume of workload.podSpec.volumes ?? []) {
      const sources = Object.keys(volume).filter((key) => key !== 'name');

      expect(sources).toHaveLength(1);
      expect(['emptyDir', 'configMap', 'secret', 'projected']).toContain(sources[0]);
    }
  });

  it('probes readiness over HTTP on /readyz', () => {
    const probe = required(container.readinessProbe, 'readinessProbe');

    expect(probe.httpGet?.path).toBe('/readyz');
  });

  it('probes only the serving port', () => {
    const port = required(container.ports?.[0], 'port');

    for (const probe of [
      container.readinessProbe,
      container.livenessProbe,
      container.startupProbe,
    ]) {
      const probePort = probe?.httpGet?.port;
      if (probePort === undefined) continue;

      expect([port.containerPort, port.name]).toContain(probePort);
    }
  });

  it('leaves aggressive readiness probing on', () => {
    // With periodSeconds 0 (unset) Knative rejects failureThreshold and timeoutSeconds.
    const probe = required(container.readinessProbe, 'readinessProbe');

    expect(probe.periodSeconds ?? 0).toBe(0);
    expect(probe.failureThreshold).toBeUndefined();
    expect(probe.timeoutSeconds).toBeUndefined();
  });

  it('sets a timeout within the cluster maximum', () => {
    const timeoutSeconds = required(workload.podSpec.timeoutSeconds, 'timeoutSeconds');
    const config = parseConfig(containerEnvironment(container, objects));

    expect(timeoutSeconds).toBeLessThanOrEqual(MAX_REVISION_TIMEOUT_SECONDS);
    expect(timeoutSeconds * 1000).toBeGreaterThan(config.maxDelayMs);
  });

  it('uses a small shutdown delay', () => {
    // The queue-proxy has drained and left the route before the app receives SIGTERM.
    const config = parseConfig(containerEnvironment(container, objects));

    expect(config.shutdownDelayMs).toBeLessThanOrEqual(1_000);
  });

  it('renders no objects Knative manages', () => {
    // Knative owns the Deployment and its scaling, so these would fight the KPA.
    const kinds = objects.map((object) => object.kind);

    expect(kinds).not.toContain('HorizontalPodAutoscaler');
    expect(kinds).not.toContain('PodDisruptionBudget');
    expect(kinds).not.toContain('Deployment');
  });
});

describe('Knative autoscaling', () => {
  function annotation(key: string): string {
    return required(workload.podAnnotations[key], `annotation ${key}`);
  }

  it('sets every autoscaling annotation', () => {
    for (const key of AUTOSCALING_KEYS) {
      expect(workload.podAnnotations, key).toHaveProperty([key]);
    }
  });

  it('uses no camelCase annotation keys', () => {
    const autoscalingKeys = Object.keys(workload.podAnnotations).filter((key) =>
      key.startsWith('autoscaling.knative.dev/'),
    );

    for (const key of autoscalingKeys) {
      expect(key, 'kebab-case key').toMatch(/^autoscaling\.knative\.dev\/[a-z]+(-[a-z]+)*$/);
    }
  });

  it('sets class and metric to KPA concurrency', () => {
    expect(annotation('autoscaling.knative.dev/class')).toBe('kpa.autoscaling.knative.dev');
    expect(annotation('autoscaling.knative.dev/metric')).toBe('concurrency');
  });

  it('sets scale bounds in order', () => {
    const minScale = Number(annotation('autoscaling.knative.dev/min-scale'));
    const maxScale = Number(annotation('autoscaling.knative.dev/max-scale'));

    expect(Number.isInteger(minScale)).toBe(true);
    expect(Number.isInteger(maxScale)).toBe(true);
    expect(minScale).toBeGreaterThanOrEqual(0);
    expect(maxScale).toBeGreaterThanOrEqual(Math.max(minScale, 1));
  });

  it('keeps the target below containerConcurrency', () => {
    const target = Number(annotation('autoscaling.knative.dev/target'));
    const containerConcurrency = required(
      workload.podSpec.containerConcurrency,
      'containerConcurrency',
    );

    expect(target).toBeGreaterThan(0);
    expect(containerConcurrency).toBeLessThanOrEqual(CONTAINER_CONCURRENCY_MAX);
    // Knative uses the smaller of the two, so a target above the hard limit would be ignored.
    expect(target).toBeLessThanOrEqual(containerConcurrency);
  });
});
