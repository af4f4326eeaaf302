import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** Repository root, two levels above this file. */
export const repoRoot = join(import.meta.dirname, '..', '..');

/** An image reference pinned by digest: `name[:tag]@sha256:<64 lowercase hex>`. */
export const digestPinnedImage = /^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$/;

/** A GitHub Actions `uses:` value pinned to a full commit SHA. */
export const shaPinnedAction = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_./-]+@[0-9a-f]{40}$/;

export type Manifest = Record<string, unknown> & { kind?: string; apiVersion?: string };

/** One YAML document with the file it came from, for failure messages. */
export interface LoadedDocument {
  file: string;
  object: Manifest;
}

/** Reads a repository file as UTF-8. */
export function readRepoFile(path: string): string {
  return readFileSync(join(repoRoot, path), 'utf8');
}

/**
 * Parses every YAML document in the file and throws on the first syntax error, naming
 * the file. Empty documents (a trailing `---`) are skipped.
 */
export function loadYamlDocuments(path: string): LoadedDocument[] {
  const documents = parseAllDocuments(readRepoFile(path));
  const loaded: LoadedDocument[] = [];
  for (const document of documents) {
    if (document.errors.length > 0) {
      throw new Error(`${path}: invalid YAML: ${document.errors[0]?.message}`);
    }
    const object: unknown = document.toJS();
    if (object !== null && object !== undefined) {
      loaded.push({ file: path, object: object as Manifest });
    }
  }
  return loaded;
}

/** Lists `*.yaml` and `*.yml` files under a repository directory, recursively, sorted. */
export function listYamlFiles(directory: string): string[] {
  const entries = readdirSync(join(repoRoot, directory), { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => relative(repoRoot, join(entry.parentPath, entry.name)))
    .sort();
}

/**
 * Collects the value of every `image:` key anywhere in a parsed object, with its JSON
 * path, so a test can check each container image of a Task, Pod or template.
 */
export function collectImages(value: unknown, path = ''): { path: string; image: string }[] {
  if (Array.isArray(value)) {
    return value.flatMap((item, index) => collectImages(item, `${path}[${index}]`));
  }
  if (value === null || typeof value !== 'object') {
    return [];
  }
  const found: { path: string; image: string }[] = [];
  for (const [key, child] of Object.entries(value)) {
    if (key === 'image' && typeof child === 'string') {
      found.push({ path: `${path}.image`, image: child });
    } else {
      found.push(...collectImages(child, `${path}.${key}`));
    }
  }
  return found;
}
