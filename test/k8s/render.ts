import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { parseAllDocuments } from 'yaml';

import { ROOT } from '../support/process.ts';

const execFileAsync = promisify(execFile);

/** A rendered Kubernetes object before validation: only the type fields are known. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

/** Kustomize directories that `kubectl apply -k` deploys, relative to the repository root. */
export const OVERLAYS = {
  plain: 'k8s/plain',
  knative: 'k8s/knative',
  monitoring: 'k8s/monitoring',
} as const;

export type OverlayName = keyof typeof OVERLAYS;

/**
 * Runs `kubectl kustomize DIR` and parses every YAML document it prints.
 *
 * @param kubectl the kubectl command; tests pass a missing one to check the error.
 * @throws Error naming the missing tool when kubectl is not on PATH, or kustomize's own
 *   message when the kustomization is invalid.
 */
export async function renderKustomization(dir: string, kubectl = 'kubectl'): Promise<K8sObject[]> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(kubectl, ['kustomize', dir], {
      cwd: ROOT,
      timeout: 20_000,
      maxBuffer: 16 * 1024 * 1024,
    }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        `${kubectl} was not found on PATH. The k8s tests render the overlays with ` +
          '`kubectl kustomize`; install kubectl 1.27 or later (it bundles kustomize v5).',
        { cause: error },
      );
    }
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`kubectl kustomize ${dir} failed:\n${stderr}`, { cause: error });
  }
  return parseDocuments(stdout, `kubectl kustomize ${dir}`);
}

/** Parses multi-document YAML into objects, failing on any syntax error. */
export function parseDocuments(text: string, source: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) {
      throw new Error(`${source} printed invalid YAML: ${document.errors[0]?.message}`);
    }
    const value: unknown = document.toJS();
    if (value === null) continue;
    objects.push(value as K8sObject);
  }
  return objects;
}

/** Renders one of the overlays that `kubectl apply -k` deploys. */
export function renderOverlay(name: OverlayName): Promise<K8sObject[]> {
  return renderKustomization(OVERLAYS[name]);
}
