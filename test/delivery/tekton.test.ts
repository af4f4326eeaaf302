import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import {
  collectImages,
  digestPinnedImage,
  listYamlFiles,
  loadYamlDocuments,
  readRepoFile,
  repoRoot,
  type Manifest,
} from './manifests.ts';
import { isTektonKind, validateTektonObject } from './tekton-schema.ts';

interface TaskRef {
  name?: string;
  resolver?: string;
  params?: { name: string; value: unknown }[];
}
interface PipelineTask {
  name: string;
  taskRef?: TaskRef;
  runAfter?: string[];
  params?: { name: string; value: string }[];
}
interface LintProblem {
  message: string;
  rule: string;
  level: string;
  path: string;
}

const tektonDir = 'k8s/tekton';
const files = listYamlFiles(tektonDir).filter((file) => !file.endsWith('/.tektonlintrc.yaml'));
const documents = files.flatMap((file) => loadYamlDocuments(file));
const byKind = (kind: string) => documents.filter(({ object }) => object.kind === kind);
const tasks = byKind('Task').map(({ object }) => object);
const pipeline = byKind('Pipeline')[0]?.object as Manifest & { spec: { tasks: PipelineTask[] } };
const pipelineTasks = pipeline.spec.tasks;
const cacheDirs: string[] = [];

/** Runs tekton-lint with this directory's settings and returns its JSON findings. */
function runTektonLint(directory: string): { status: number | null; problems: LintProblem[] } {
  const cacheDir = mkdtempSync(join(tmpdir(), 'tekton-lint-cache-'));
  cacheDirs.push(cacheDir);
  const result = spawnSync(
    join(repoRoot, 'node_modules', '.bin', 'tekton-lint'),
    [
      '--config',
      join(directory, '.tektonlintrc.yaml'),
      '--format',
      'json',
      `${directory}/**/*.yaml`,
    ],
    // tekton-lint always exits 0 when NODE_ENV is "test", which vitest sets.
    {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, NODE_ENV: 'production', TL_CACHE_DIR: cacheDir },
    },
  );
  if (result.error !== undefined) throw result.error;
  return { status: result.status, problems: JSON.parse(result.stdout || '[]') as LintProblem[] };
}

function nameOf(object: Manifest): string {
  return String((object.metadata as { name?: string } | undefined)?.name);
}

afterAll(() => {
  for (const dir of cacheDirs) rmSync(dir, { recursive: true, force: true });
});

describe('Tekton pipeline', () => {
  it('is lint clean with tekton-lint', () => {
    const { status, problems } = runTektonLint(join(repoRoot, tektonDir));
    expect(problems).toEqual([]);
    expect(status).toBe(0);
  });

  it('tekton-lint reports an undefined parameter', () => {
    // Guards against a lint run that passes because it read no files.
    const copy = mkdtempSync(join(tmpdir(), 'tekton-lint-broken-'));
    cacheDirs.push(copy);
    cpSync(join(repoRoot, tektonDir), copy, { recursive: true });
    const taskFile = join(copy, 'tasks', 'image-scan.yaml');
    writeFileSync(
      taskFile,
      readFileSync(taskFile, 'utf8').replace('$(params.image-ref)', '$(params.image-reff)'),
    );
    const { status, problems } = runTektonLint(copy);
    expect(status).not.toBe(0);
    expect(problems).toContainEqual(expect.objectContaining({ rule: 'no-undefined-param' }));
  });

  it('validates every Tekton object against its schema', () => {
    const tektonDocuments = documents.filter(({ object }) =>
      isTektonKind(String(object.apiVersion), String(object.kind)),
    );
    const kinds = new Set(tektonDocuments.map(({ object }) => object.kind));
    expect([...kinds].sort()).toEqual([
      'EventListener',
      'Pipeline',
      'PipelineRun',
      'Task',
      'TriggerBinding',
      'TriggerTemplate',
    ]);
    for (const { file, object } of tektonDocuments) {
      expect(validateTektonObject(object), `${file} ${object.kind} ${nameOf(object)}`).toEqual([]);
    }
  });

  it('validates the RBAC objects against the Kubernetes schemas', () => {
    const models = { ServiceAccount, RoleBinding, ClusterRoleBinding } as const;
    const rbac = documents.filter(({ object }) => String(object.kind) in models);
    expect(rbac.length).toBeGreaterThanOrEqual(3);
    for (const { object } of rbac) {
      const Model = models[object.kind as keyof typeof models];
      expect(() => new Model(object as never).validate(), nameOf(object)).not.toThrow();
    }
  });

  it('schema rejects a misspelled field', () => {
    const task = structuredClone(tasks[0]) as { spec: { steps: Record<string, unknown>[] } };
    task.spec.steps[0] = { ...task.spec.steps[0], workdir: '/src' };
    expect(validateTektonObject(task as never)).toContainEqual(
      expect.stringContaining('(workdir)'),
    );
  });

  it('pins every step image by digest', () => {
    const images = documents.flatMap(({ file, object }) =>
      collectImages(object).map((found) => ({ ...found, file })),
    );
    expect(images.length).toBeGreaterThanOrEqual(5);
    for (const { file, path, image } of images) {
      expect(image, `${file} ${path}`).toMatch(digestPinnedImage);
    }
  });

  it('resolves git-clone from git at a pinned commit', () => {
    const clone = pipelineTasks.find((task) => task.taskRef?.resolver !== undefined);
    expect(clone?.taskRef?.resolver).toBe('git');
    const params = new Map(clone?.taskRef?.params?.map((param) => [param.name, param.value]));
    expect(params.get('revision')).toMatch(/^[0-9a-f]{40}$/);
    expect(params.get('url')).toMatch(/^https:\/\/github\.com\/.+\.git$/);
    expect(params.get('pathInRepo')).toMatch(/\.yaml$/);
  });

  it('refers only to Tasks defined here, besides resolved ones', () => {
    const taskNames = new Set(tasks.map(nameOf));
    for (const task of pipelineTasks) {
      if (task.taskRef?.resolver !== undefined) continue;
      expect(taskNames, `pipeline task ${task.name}`).toContain(task.taskRef?.name);
    }
  });

  it('runs clone, test, build, scan and bump in that order', () => {
    const order = (name: string) => pipelineTasks.find((task) => task.name === name);
    expect(order('unit-test')?.runAfter).toEqual(['fetch-source']);
    expect(order('build-push')?.runAfter).toEqual(['unit-test']);
    // scan-image runs after build-push because it reads that task's digest result.
    const scanRef = order('scan-image')?.params?.find((param) => param.name === 'image-ref');
    expect(scanRef?.value).toBe('$(params.image)@$(tasks.build-push.results.image-digest)');
    expect(order('gitops-bump')?.runAfter).toEqual(['scan-image']);
    const digest = order('gitops-bump')?.params?.find((param) => param.name === 'digest');
    expect(digest?.value).toBe('$(tasks.build-push.results.image-digest)');
  });

  it('kaniko writes the pushed digest to the task result', () => {
    const build = tasks.find((task) => nameOf(task) === 'httpserver-kaniko-build') as {
      spec: { steps: { image: string; args?: string[] }[] };
    };
    const kaniko = build.spec.steps.find((step) =>
      step.image.startsWith('gcr.io/kaniko-project/executor:'),
    );
    expect(kaniko?.args).toContain('--digest-file=$(results.image-digest.path)');
    expect(kaniko?.args).toContain('--dockerfile=$(workspaces.source.path)/Dockerfile');
  });

  it('bump defaults name overlays that contain the image entry', () => {
    const bump = tasks.find((task) => nameOf(task) === 'httpserver-gitops-bump') as {
      spec: { params: { name: string; default?: string }[] };
    };
    const defaults = new Map(bump.spec.params.map((param) => [param.name, param.default]));
    const imageName = defaults.get('manifest-image-name');
    for (const overlay of [defaults.get('plain-overlay'), defaults.get('knative-overlay')]) {
      const { images } = parse(readRepoFile(`${overlay}/kustomization.yaml`)) as {
        images?: { name: string }[];
      };
      expect(
        images?.map((image) => image.name),
        String(overlay),
      ).toContain(imageName);
    }
  });

  it('trigger starts the pipeline only for pushes to main', () => {
    const listener = byKind('EventListener')[0]?.object as {
      spec: {
        triggers: {
          interceptors: { ref: { name: string }; params: { name: string; value: unknown }[] }[];
        }[];
      };
    };
    const interceptors = listener.spec.triggers[0]?.interceptors ?? [];
    expect(interceptors.map((interceptor) => interceptor.ref.name)).toEqual(['github', 'cel']);
    const filter = interceptors[1]?.params.find((param) => param.name === 'filter')?.value;
    expect(filter).toContain("body.ref == 'refs/heads/main'");
    const template = byKind('TriggerTemplate')[0]?.object as {
      spec: { resourcetemplates: { spec: { pipelineRef: { name: string } } }[] };
    };
    expect(template.spec.resourcetemplates[0]?.spec.pipelineRef.name).toBe(nameOf(pipeline));
  });

  it('kustomization lists every file but the example run', () => {
    const { resources } = parse(readRepoFile(`${tektonDir}/kustomization.yaml`)) as {
      resources: string[];
    };
    const expected = files
      .map((file) => file.slice(tektonDir.length + 1))
      .filter((file) => file !== 'kustomization.yaml' && file !== 'pipelinerun.yaml');
    expect([...resources].sort()).toEqual(expected.sort());
  });
});
