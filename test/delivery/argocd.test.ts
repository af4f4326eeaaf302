import { spawnSync } from 'node:child_process';
import { AppProject } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/AppProject';
import { Application } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { listYamlFiles, loadYamlDocuments, readRepoFile, repoRoot } from './manifests.ts';
import { createUnknownFieldChecker } from './unknown-fields.ts';

interface ApplicationObject {
  metadata: { name: string };
  spec: {
    project: string;
    source: { repoURL: string; path: string; targetRevision: string };
    destination: { server: string; namespace: string };
    ignoreDifferences?: { group?: string; kind: string; jqPathExpressions?: string[] }[];
    syncPolicy?: {
      automated?: { prune?: boolean; selfHeal?: boolean };
      syncOptions?: string[];
    };
  };
}

const argocdDir = 'k8s/argocd';
const documents = listYamlFiles(argocdDir).flatMap((file) => loadYamlDocuments(file));
const applications = documents.filter(({ object }) => object.kind === 'Application');
const projects = documents.filter(({ object }) => object.kind === 'AppProject');
const appByPath = new Map(
  applications.map(({ object }) => {
    const app = object as unknown as ApplicationObject;
    return [app.spec.source.path, app];
  }),
);

let unknownApplicationFields: (value: unknown) => string[];
let unknownProjectFields: (value: unknown) => string[];

beforeAll(() => {
  unknownApplicationFields = createUnknownFieldChecker(
    '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application',
    'IApplication',
  );
  unknownProjectFields = createUnknownFieldChecker(
    '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/AppProject',
    'IAppProject',
  );
}, 30_000);

describe('Argo CD Applications', () => {
  it('exist once for each overlay', () => {
    expect([...appByPath.keys()].sort()).toEqual(['k8s/knative', 'k8s/monitoring', 'k8s/plain']);
    expect(applications).toHaveLength(3);
  });

  it('validate against the Argo CD schema', () => {
    for (const { file, object } of applications) {
      expect(() => new Application(object as never).validate(), file).not.toThrow();
      expect(unknownApplicationFields(object), file).toEqual([]);
    }
    for (const { file, object } of projects) {
      expect(() => new AppProject(object as never).validate(), file).not.toThrow();
      expect(unknownProjectFields(object), file).toEqual([]);
    }
  });

  it('schema check rejects a misspelled field', () => {
    const app = structuredClone(applications[0]?.object) as Record<string, Record<string, unknown>>;
    app.spec = { ...app.spec, syncPolcy: app.spec?.syncPolicy };
    expect(unknownApplicationFields(app)).toEqual(['.spec.syncPolcy']);
    const wrongType = { ...app, spec: { ...app.spec, destination: 'in-cluster' } };
    expect(() => new Application(wrongType as never).validate()).toThrow(/destination/);
  });

  it('point at overlays that kustomize renders', () => {
    for (const path of appByPath.keys()) {
      const result = spawnSync('kubectl', ['kustomize', path], { cwd: repoRoot, encoding: 'utf8' });
      if (result.error !== undefined) {
        throw new Error(
          `kubectl kustomize could not start (is kubectl installed?): ${result.error.message}`,
        );
      }
      expect(result.status, `kubectl kustomize ${path}: ${result.stderr}`).toBe(0);
      expect(result.stdout.length, path).toBeGreaterThan(0);
    }
  });

  it('sync automatically with prune, self-heal and server-side apply', () => {
    for (const [path, app] of appByPath) {
      expect(app.spec.syncPolicy?.automated, path).toEqual({ prune: true, selfHeal: true });
      expect(app.spec.syncPolicy?.syncOptions, path).toContain('ServerSideApply=true');
    }
  });

  it('ignore the fields that Knative defaults', () => {
    const knative = appByPath.get('k8s/knative');
    const rule = knative?.spec.ignoreDifferences?.find(
      (entry) => entry.group === 'serving.knative.dev' && entry.kind === 'Service',
    );
    expect(rule?.jqPathExpressions).toEqual(
      expect.arrayContaining([
        '.metadata.annotations["serving.knative.dev/creator"]',
        '.metadata.annotations["serving.knative.dev/lastModifier"]',
        '.spec.template.spec.containers[]?.readinessProbe.successThreshold',
        '.spec.traffic',
      ]),
    );
    // Without RespectIgnoreDifferences a sync writes the ignored fields back.
    expect(knative?.spec.syncPolicy?.syncOptions).toContain('RespectIgnoreDifferences=true');
  });

  it('stay inside their project', () => {
    const project = projects[0]?.object as unknown as {
      metadata: { name: string };
      spec: { sourceRepos: string[]; destinations: { server: string; namespace: string }[] };
    };
    for (const [path, app] of appByPath) {
      expect(app.spec.project, path).toBe(project.metadata.name);
      expect(project.spec.sourceRepos, path).toContain(app.spec.source.repoURL);
      expect(project.spec.destinations, path).toContainEqual(app.spec.destination);
    }
  });

  it('kustomization lists every file', () => {
    const { resources } = parse(readRepoFile(`${argocdDir}/kustomization.yaml`)) as {
      resources: string[];
    };
    const files = listYamlFiles(argocdDir)
      .map((file) => file.slice(argocdDir.length + 1))
      .filter((file) => file !== 'kustomization.yaml');
    expect([...resources].sort()).toEqual(files.sort());
  });
});
