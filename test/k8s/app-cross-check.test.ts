import type { IPodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KNOWN_ENV_VARS, parseConfig, type Config } from '../../src/config/config.ts';
import { buildTestApp } from '../support/app.ts';
import { startService, stopAllServices } from '../support/process.ts';
import { renderOverlay, type K8sObject } from './render.ts';
import { containerEnvironment, findWorkloads, required, type Workload } from './workloads.ts';

/**
 * Variables that Knative reserves and sets in every revision container besides PORT
 * (reservedEnvVars in knative/serving pkg/apis/serving/k8s_validation.go). The manifests
 * may not set them, but the app must start with them present.
 */
const KNATIVE_INJECTED = {
  K_SERVICE: 'httpserver',
  K_REVISION: 'httpserver-00001',
  K_CONFIGURATION: 'httpserver',
};

/** Delay that the app applies to /hello during the probe checks; a probe must not wait for it. */
const FORCED_DELAY_MS = 3_000;

/** A probe slower than this counts as delayed. In-process requests take a few ms. */
const PROBE_DEADLINE_MS = 500;

/**
 * Minimum time that the preStop hook Knative adds to the app container holds back the app's
 * SIGTERM: the queue-proxy's /wait-for-drain handler returns no earlier (drainSleepDuration
 * in knative/serving's queue-proxy main package).
 */
const KNATIVE_DRAIN_MS = 30_000;

let plainObjects: K8sObject[];
let knativeObjects: K8sObject[];
let podMonitor: IPodMonitor;
let workloads: Array<{ workload: Workload; objects: K8sObject[] }>;

beforeAll(async () => {
  plainObjects = await renderOverlay('plain');
  knativeObjects = await renderOverlay('knative');
  const monitoring = await renderOverlay('monitoring');
  podMonitor = required(
    monitoring.find((object) => object.kind === 'PodMonitor') as IPodMonitor | undefined,
    'PodMonitor',
  );
  workloads = [
    ...findWorkloads(plainObjects).map((workload) => ({ workload, objects: plainObjects })),
    ...findWorkloads(knativeObjects).map((workload) => ({ workload, objects: knativeObjects })),
  ];
});

afterAll(stopAllServices);

/** Returns the single container of the workload; both overlays run one. */
function onlyContainer(workload: Workload): IContainer {
  expect(workload.containers, `${workload.id} containers`).toHaveLength(1);
  return required(workload.containers[0], `${workload.id} container`);
}

/**
 * Returns the environment the container runs with: the manifest's variables plus, on
 * Knative, the ones Knative injects (PORT from the container port, and K_*).
 */
function runtimeEnvironment(workload: Workload, objects: K8sObject[]): Record<string, string> {
  const container = onlyContainer(workload);
  const environment = containerEnvironment(container, objects);
  if (!workload.isKnative) return environment;

  const servingPort = required(container.ports?.[0]?.containerPort, `${workload.id} serving port`);
  return { ...environment, PORT: String(servingPort), ...KNATIVE_INJECTED };
}

function configOf(workload: Workload, objects: K8sObject[]): Config {
  return parseConfig(runtimeEnvironment(workload, objects));
}

/** Lists the container's HTTP probes as [kind, probe]. */
function httpProbes(container: IContainer): Array<[string, IProbe]> {
  const probes: Array<[string, IProbe | undefined]> = [
    ['startupProbe', container.startupProbe],
    ['livenessProbe', container.livenessProbe],
    ['readinessProbe', container.readinessProbe],
  ];
  return probes.filter((entry): entry is [string, IProbe] => entry[1]?.httpGet !== undefined);
}

/** Resolves a probe or endpoint port (a name or a number) to the container port number. */
function resolvePort(container: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((candidate) => candidate.name === port)?.containerPort;
}

/** Applies one Prometheus `replace` relabeling to a label value, as Prometheus does. */
function applyReplace(regex: string, replacement: string, value: string): string | undefined {
  const match = new RegExp(`^(?:${regex})$`).exec(value);
  if (match === null) return undefined;
  return replacement.replace(/\$\{(\d+)\}|\$(\d+)/g, (_text, braced?: string, bare?: string) => {
    return match[Number(braced ?? bare)] ?? '';
  });
}

describe.each([
  ['plain', 'Deployment/httpserver'],
  ['knative', 'Knative Service/httpserver'],
])('%s workload', (_overlay, id) => {
  function current() {
    const entry = required(
      workloads.find((candidate) => candidate.workload.id === id),
      `workload ${id}`,
    );
    return { ...entry, container: onlyContainer(entry.workload) };
  }

  it('sets only variables the app reads', () => {
    const { workload, objects, container } = current();
    const names = Object.keys(containerEnvironment(container, objects));

    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      expect(KNOWN_ENV_VARS, `${workload.id} sets ${name}`).toContain(name);
    }
  });

  it('passes parseConfig with all variables combined', () => {
    const { workload, objects } = current();

    expect(() => configOf(workload, objects)).not.toThrow();
  });

  it('serves on the declared container port', () => {
    const { workload, objects, container } = current();
    const config = configOf(workload, objects);

    expect(container.ports?.[0]?.containerPort).toBe(config.port);
  });

  it('probes paths that answer 200 at once', async () => {
    const { workload, objects, container } = current();
    const environment = runtimeEnvironment(workload, objects);
    const { app } = buildTestApp({
      env: {
        ...environment,
        DELAY_MIN_MS: String(FORCED_DELAY_MS),
        DELAY_MAX_MS: String(FORCED_DELAY_MS),
      },
    });
    const probes = httpProbes(container);

    expect(probes.map(([kind]) => kind)).toContain('readinessProbe');
    expect(probes.map(([kind]) => kind)).toContain('livenessProbe');
    for (const [kind, probe] of probes) {
      const path = required(probe.httpGet?.path, `${kind} path`);
      const started = performance.now();
      const response = await Promise.race([
        app.request(path),
        new Promise<undefined>((resolve) => {
          setTimeout(() => resolve(undefined), PROBE_DEADLINE_MS).unref();
        }),
      ]);

      expect(response, `${kind} ${path} answered within ${PROBE_DEADLINE_MS} ms`).toBeDefined();
      expect(response?.status, `${kind} ${path} status`).toBe(200);
      expect(performance.now() - started).toBeLessThan(PROBE_DEADLINE_MS);
    }
  });

  it('probes the serving port', () => {
    const { workload, objects, container } = current();
    const config = configOf(workload, objects);

    for (const [kind, probe] of httpProbes(container)) {
      expect(resolvePort(container, probe.httpGet?.port), `${kind} port`).toBe(config.port);
    }
  });

  it('fails readiness but not liveness in shutdown', async () => {
    const { workload, objects, container } = current();
    const { app, state } = buildTestApp({ env: runtimeEnvironment(workload, objects) });
    state.ready = false;
    state.shuttingDown = true;

    for (const [kind, probe] of httpProbes(container)) {
      const response = await app.request(required(probe.httpGet?.path, `${kind} path`));
      // A liveness or startup probe that failed here would restart the pod mid-drain.
      const expected = kind === 'readinessProbe' ? 503 : 200;

      expect(response.status, `${kind} ${probe.httpGet?.path} during shutdown`).toBe(expected);
    }
  });

  it('annotates the port and path that serve /metrics', async () => {
    const { workload, objects } = current();
    const config = configOf(workload, objects);
    const annotations = workload.podAnnotations;
    const { app } = buildTestApp({ env: runtimeEnvironment(workload, objects) });

    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(annotations['prometheus.io/port']).toBe(String(config.metricsPort ?? config.port));
    expect(annotations['prometheus.io/path']).toBe('/metrics');

    const response = await app.request(required(annotations['prometheus.io/path'], 'path'));

    expect(response.status).toBe(200);
    expect(await response.text()).toContain('# TYPE target_info gauge');
  });

  it('serves metrics on METRICS_PORT when running', async () => {
    const { workload, objects } = current();
    const annotations = workload.podAnnotations;
    // Port 0 keeps parallel tests apart; the configured numbers are checked above. No
    // shutdown delay, so stopping takes no longer than the test.
    const service = await startService({
      env: {
        ...runtimeEnvironment(workload, objects),
        PORT: '0',
        METRICS_PORT: '0',
        SHUTDOWN_DELAY_MS: '0',
      },
    });

    const metricsUrl = required(service.metricsUrl, 'metrics listener');
    const response = await fetch(`${metricsUrl}${annotations['prometheus.io/path']}`);

    expect(response.status).toBe(200);
    expect(await response.text()).toContain('# TYPE target_info gauge');
    await service.stop();
  });
});

describe('shutdown budget', () => {
  it('plain grace period covers delay and timeout', () => {
    const { workload, objects } = required(
      workloads.find((candidate) => !candidate.workload.isKnative),
      'plain workload',
    );
    const config = configOf(workload, objects);
    const graceMs = required(workload.podSpec.terminationGracePeriodSeconds, 'grace period') * 1000;

    expect(graceMs).toBeGreaterThan(config.shutdownDelayMs + config.shutdownTimeoutMs);
  });

  it('Knative timeout exceeds the largest delay', () => {
    const { workload, objects } = required(
      workloads.find((candidate) => candidate.workload.isKnative),
      'Knative workload',
    );
    const config = configOf(workload, objects);
    const timeoutMs = required(workload.podSpec.timeoutSeconds, 'timeoutSeconds') * 1000;

    expect(timeoutMs).toBeGreaterThan(config.maxDelayMs);
  });

  it('Knative timeout covers drain and shutdown', () => {
    const { workload, objects } = required(
      workloads.find((candidate) => candidate.workload.isKnative),
      'Knative workload',
    );
    const config = configOf(workload, objects);
    // Knative makes timeoutSeconds the pod's terminationGracePeriodSeconds.
    const graceMs = required(workload.podSpec.timeoutSeconds, 'timeoutSeconds') * 1000;

    expect(graceMs).toBeGreaterThan(
      KNATIVE_DRAIN_MS + config.shutdownDelayMs + config.shutdownTimeoutMs,
    );
  });
});

describe('PodMonitor', () => {
  function endpoint(port: string) {
    return required(
      podMonitor.spec.podMetricsEndpoints?.find((candidate) => candidate.port === port),
      `PodMonitor endpoint on port ${port}`,
    );
  }

  it('selects the pods of both overlays', () => {
    const selector = required(podMonitor.spec.selector.matchLabels, 'matchLabels');

    expect(Object.keys(selector).length).toBeGreaterThan(0);
    for (const { workload } of workloads) {
      for (const [key, value] of Object.entries(selector)) {
        expect(workload.podLabels[key], `${workload.id} label ${key}`).toBe(value);
      }
    }
  });

  it('scrapes the plain metrics port', () => {
    const { workload, objects } = required(
      workloads.find((candidate) => !candidate.workload.isKnative),
      'plain workload',
    );
    const config = configOf(workload, objects);
    const scraped = endpoint('metrics');

    expect(resolvePort(onlyContainer(workload), scraped.port)).toBe(config.metricsPort);
    expect(scraped.path).toBe('/metrics');
  });

  it('moves the Knative target to METRICS_PORT', () => {
    const { workload, objects } = required(
      workloads.find((candidate) => candidate.workload.isKnative),
      'Knative workload',
    );
    const config = configOf(workload, objects);
    const scraped = endpoint('user-port');
    const relabeling = required(scraped.relabelings?.[0], 'address relabeling');

    expect(scraped.path).toBe('/metrics');
    expect(relabeling.sourceLabels).toEqual(['__address__']);
    expect(relabeling.targetLabel).toBe('__address__');
    expect(relabeling.action ?? 'replace').toBe('replace');

    const regex = required(relabeling.regex, 'regex');
    const replacement = required(relabeling.replacement, 'replacement');

    expect(applyReplace(regex, replacement, '10.1.2.3:8080')).toBe(
      `10.1.2.3:${config.metricsPort}`,
    );
    expect(applyReplace(regex, replacement, '[fd00::1]:8080')).toBe(
      `[fd00::1]:${config.metricsPort}`,
    );
  });
});
