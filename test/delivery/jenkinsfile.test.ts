import { Pod } from 'kubernetes-models/v1/Pod';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { collectImages, digestPinnedImage, readRepoFile } from './manifests.ts';

const jenkinsfile = readRepoFile('.ci/Jenkinsfile');

/**
 * Removes comments and the contents of string literals from Groovy source, keeping the
 * quotes, so that bracket counting covers only code. Handles '...', "...", '''...''' and
 * """...""" strings and // and block comments.
 */
function stripStringsAndComments(source: string): string {
  let output = '';
  let index = 0;
  while (index < source.length) {
    const rest = source.slice(index);
    const quote = ["'''", '"""', "'", '"'].find((candidate) => rest.startsWith(candidate));
    if (rest.startsWith('//')) {
      index = source.indexOf('\n', index);
      if (index === -1) break;
    } else if (rest.startsWith('/*')) {
      const end = source.indexOf('*/', index + 2);
      if (end === -1) throw new Error('invalid Groovy: unterminated block comment');
      index = end + 2;
    } else if (quote !== undefined) {
      let end = index + quote.length;
      while (end < source.length && !source.startsWith(quote, end)) {
        end += source[end] === '\\' ? 2 : 1;
      }
      if (end >= source.length)
        throw new Error(`invalid Groovy: unterminated string at offset ${index}`);
      output += `${quote}${quote}`;
      index = end + quote.length;
    } else {
      output += source[index];
      index += 1;
    }
  }
  return output;
}

/** Returns the pod YAML given to `kubernetes { yaml '''...''' }`. */
function agentPodYaml(): string {
  const match = /kubernetes\s*\{[^}]*?yaml\s+'''([\s\S]*?)'''/.exec(jenkinsfile);
  if (match?.[1] === undefined)
    throw new Error("missing kubernetes agent with an inline yaml '''...''' pod");
  return match[1];
}

interface Container {
  name: string;
  image: string;
  securityContext?: { privileged?: boolean };
  volumeMounts?: { mountPath: string }[];
}

describe('Jenkinsfile', () => {
  const code = stripStringsAndComments(jenkinsfile);
  const pod = parse(agentPodYaml()) as {
    spec: { containers: Container[]; volumes?: { hostPath?: { path: string } }[] };
  };

  it('has balanced braces, brackets and parentheses', () => {
    const closing: Record<string, string> = { '}': '{', ']': '[', ')': '(' };
    const stack: string[] = [];
    for (const char of code) {
      if ('{[('.includes(char)) stack.push(char);
      if (char in closing) expect(stack.pop(), `unexpected ${char}`).toBe(closing[char]);
    }
    expect(stack).toEqual([]);
  });

  it('is a declarative pipeline on a Kubernetes agent', () => {
    expect(code).toMatch(/^\s*pipeline\s*\{/m);
    expect(code).toMatch(/agent\s*\{\s*kubernetes\s*\{/);
  });

  it('declares a valid agent pod', () => {
    expect(() =>
      new Pod({ metadata: { name: 'agent' }, ...pod } as never).validate(),
    ).not.toThrow();
  });

  it('builds with kaniko and records the digest', () => {
    const kaniko = pod.spec.containers.find((container) => container.name === 'kaniko');
    expect(kaniko?.image).toMatch(/^gcr\.io\/kaniko-project\/executor:[^@]*debug@/);
    expect(jenkinsfile).toMatch(/container\('kaniko'\)\s*\{[\s\S]*\/kaniko\/executor/);
    expect(jenkinsfile).toContain('--digest-file=');
  });

  it('uses no Docker daemon, socket or privileged container', () => {
    expect(jenkinsfile).not.toMatch(/docker\.sock|dind|docker build/);
    for (const volume of pod.spec.volumes ?? []) {
      expect(volume.hostPath, 'hostPath volume').toBeUndefined();
    }
    for (const container of pod.spec.containers) {
      expect(container.securityContext?.privileged ?? false, container.name).toBe(false);
    }
  });

  it('pins every container image by digest', () => {
    const images = collectImages(pod);
    expect(images.length).toBeGreaterThanOrEqual(2);
    for (const { path, image } of images) {
      expect(image, path).toMatch(digestPinnedImage);
    }
  });

  it('runs the README test command before the build', () => {
    const testStage = jenkinsfile.indexOf("stage('Test')");
    const buildStage = jenkinsfile.indexOf("stage('Build and push')");
    expect(testStage).toBeGreaterThan(-1);
    expect(buildStage).toBeGreaterThan(testStage);
    const testSteps = jenkinsfile.slice(testStage, buildStage);
    expect(testSteps).toMatch(/npm ci[^\n]*\n\s*npm test/);
  });
});
