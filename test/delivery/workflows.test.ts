import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  collectImages,
  digestPinnedImage,
  listYamlFiles,
  loadYamlDocuments,
  readRepoFile,
  repoRoot,
  shaPinnedAction,
} from './manifests.ts';

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  needs?: string | string[];
  container?: string | { image?: string };
  services?: Record<string, { image?: string }>;
  uses?: string;
  steps?: Step[];
  permissions?: Record<string, string>;
}
interface Workflow {
  on: Record<string, unknown>;
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

const workflowFiles = listYamlFiles('.github/workflows');
const workflows = new Map(
  workflowFiles.map((file) => [file, loadYamlDocuments(file)[0]?.object as unknown as Workflow]),
);
const ci = workflows.get('.github/workflows/ci.yaml');
const release = workflows.get('.github/workflows/release.yaml');

function allSteps(workflow: Workflow | undefined): Step[] {
  return Object.values(workflow?.jobs ?? {}).flatMap((job) => job.steps ?? []);
}

function needsOf(job: Job | undefined): string[] {
  if (job?.needs === undefined) return [];
  return Array.isArray(job.needs) ? job.needs : [job.needs];
}

/**
 * Returns the commands of the README's test command line (the code line that runs
 * `npm test`), split at `&&`.
 */
function readmeTestCommands(): string[] {
  const line = readRepoFile('README.md')
    .split('\n')
    .find((candidate) => /(^|&&\s*)npm test\s*$/.test(candidate.trim()));
  if (line === undefined) throw new Error('missing README line that ends with `npm test`');
  return line.split('&&').map((command) => command.trim());
}

/** Returns the first two words of a command, for example `npm ci` of `npm ci --no-audit`. */
function commandName(command: string): string {
  return command.split(/\s+/).slice(0, 2).join(' ');
}

/** Returns the npm commands of `.ci/run`, in order. */
function ciRunCommands(): string[] {
  return readRepoFile('.ci/run')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^npm /.test(line));
}

describe('GitHub Actions workflows', () => {
  it('parse as YAML with jobs', () => {
    expect(workflowFiles).toEqual(['.github/workflows/ci.yaml', '.github/workflows/release.yaml']);
    for (const [file, workflow] of workflows) {
      expect(Object.keys(workflow.jobs ?? {}).length, file).toBeGreaterThan(0);
    }
  });

  it('pin every action by commit SHA with a version comment', () => {
    for (const file of workflowFiles) {
      const lines = readRepoFile(file).split('\n');
      const usesLines = lines.filter((line) => /^\s*(-\s+)?uses:/.test(line));
      expect(usesLines.length, file).toBeGreaterThan(0);
      for (const line of usesLines) {
        const match = /uses:\s*(\S+)(\s+#\s*(\S+))?/.exec(line);
        const reference = match?.[1] ?? '';
        // A local reusable workflow is pinned by being in this commit.
        if (reference.startsWith('./')) continue;
        expect(reference, `${file}: ${line.trim()}`).toMatch(shaPinnedAction);
        expect(match?.[3], `${file}: version comment for ${reference}`).toMatch(/^v\d+(\.\d+)*$/);
      }
    }
  });

  it('pin every container image by digest', () => {
    for (const [file, workflow] of workflows) {
      for (const [name, job] of Object.entries(workflow.jobs)) {
        // Job containers and service containers, the two places a job names an image,
        // plus steps that run an image directly with `uses: docker://`.
        const images = collectImages({ container: job.container, services: job.services });
        if (typeof job.container === 'string')
          images.push({ path: '.container', image: job.container });
        for (const step of job.steps ?? []) {
          if (step.uses?.startsWith('docker://')) {
            images.push({ path: '.steps', image: step.uses.slice('docker://'.length) });
          }
        }
        for (const { path, image } of images) {
          expect(image, `${file} jobs.${name}${path}`).toMatch(digestPinnedImage);
        }
      }
    }
  });

  it('run the README test command on pull requests', () => {
    expect(Object.keys(ci?.on ?? {})).toContain('pull_request');
    const runs = allSteps(ci).flatMap((step) => (step.run ?? '').split('\n').map((l) => l.trim()));
    const npmRuns = runs.filter((line) => line.startsWith('npm '));
    expect(npmRuns).toEqual(ciRunCommands());
    expect(npmRuns.map(commandName)).toEqual(readmeTestCommands().map(commandName));
    expect(npmRuns.at(-1)).toBe('npm test');
    expect(runs.join('\n')).toMatch(/apt-get install .*prometheus/);
    const packageJson = JSON.parse(readRepoFile('package.json')) as {
      scripts: Record<string, string>;
    };
    expect(packageJson.scripts.test).toBeDefined();
  });

  it('release runs on main and version tags after the tests', () => {
    const push = release?.on.push as { branches?: string[]; tags?: string[] };
    expect(push.branches).toEqual(['main']);
    expect(push.tags?.length).toBeGreaterThan(0);
    expect(release?.jobs.test?.uses).toBe('./.github/workflows/ci.yaml');
    expect(Object.keys(ci?.on ?? {})).toContain('workflow_call');
    expect(needsOf(release?.jobs.image)).toContain('test');
  });

  it('release builds amd64 and arm64 with SBOM and provenance', () => {
    const build = release?.jobs.image?.steps?.find((step) =>
      step.uses?.startsWith('docker/build-push-action@'),
    );
    expect(build?.with?.push).toBe(true);
    expect(String(build?.with?.platforms).split(',')).toEqual(['linux/amd64', 'linux/arm64']);
    expect(build?.with?.sbom).toBe(true);
    expect(String(build?.with?.provenance)).toMatch(/^(true|mode=max)$/);
    expect(String(build?.with?.['build-args'])).toMatch(/REVISION=\$\{\{ github\.sha \}\}/);
  });

  it('release scans the pushed digest and fails on fixable high findings', () => {
    expect(needsOf(release?.jobs.scan)).toContain('image');
    const scan = release?.jobs.scan?.steps?.find((step) =>
      step.uses?.startsWith('aquasecurity/trivy-action@'),
    );
    expect(String(scan?.with?.['image-ref'])).toMatch(
      /@\$\{\{ needs\.image\.outputs\.digest \}\}$/,
    );
    expect(String(scan?.with?.severity).split(',').sort()).toEqual(['CRITICAL', 'HIGH']);
    expect(scan?.with?.['ignore-unfixed']).toBe(true);
    expect(String(scan?.with?.['exit-code'])).toBe('1');
  });

  it('release signs and attests only after the scan passed', () => {
    const sign = release?.jobs.sign;
    expect(needsOf(sign)).toEqual(expect.arrayContaining(['image', 'scan']));
    expect(sign?.permissions?.['id-token']).toBe('write');
    const runs = (sign?.steps ?? []).map((step) => step.run ?? '').join('\n');
    expect(runs).toMatch(/cosign sign --yes "\$IMAGE_REF"/);
    const attest = sign?.steps?.find((step) =>
      step.uses?.startsWith('actions/attest-build-provenance@'),
    );
    expect(attest?.with?.['subject-digest']).toBe('${{ needs.image.outputs.digest }}');
  });

  it('release bumps the digest in every GitOps overlay', () => {
    const bump = release?.jobs['gitops-bump'];
    expect(needsOf(bump)).toContain('sign');
    expect(bump?.permissions?.contents).toBe('write');
    const script = (bump?.steps ?? []).map((step) => step.run ?? '').join('\n');
    expect(script).toContain(
      'kustomize edit set image "${MANIFEST_IMAGE_NAME}=${NEW_IMAGE}@${DIGEST}"',
    );

    const imageName = release?.env?.MANIFEST_IMAGE_NAME;
    const overlays = (release?.env?.GITOPS_OVERLAYS ?? '').split(' ').filter(Boolean);
    expect(overlays.length).toBeGreaterThan(0);
    for (const overlay of overlays) {
      const kustomization = join(overlay, 'kustomization.yaml');
      expect(existsSync(join(repoRoot, kustomization)), kustomization).toBe(true);
      const { images } = parse(readRepoFile(kustomization)) as { images?: { name: string }[] };
      expect(
        images?.map((image) => image.name),
        kustomization,
      ).toContain(imageName);
    }
  });

  it('Dependabot watches actions and Docker base images', () => {
    const config = parse(readRepoFile('.github/dependabot.yml')) as {
      updates: { 'package-ecosystem': string }[];
    };
    const ecosystems = config.updates.map((update) => update['package-ecosystem']);
    expect(ecosystems).toEqual(expect.arrayContaining(['github-actions', 'docker']));
  });
});
