import { Copy, DockerfileParser, type Instruction } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { digestPinnedImage, readRepoFile } from './manifests.ts';

const dockerfile = DockerfileParser.parse(readRepoFile('Dockerfile'));
const froms = dockerfile.getFROMs();
const runtimeFrom = froms.at(-1);

/** Returns the instructions of the stage that starts at `from`, up to the next FROM. */
function stageInstructions(from: (typeof froms)[number]): Instruction[] {
  const all = dockerfile.getInstructions();
  const start = all.findIndex((instruction) => instruction === from);
  const end = all.findIndex(
    (instruction, index) => index > start && instruction.getKeyword() === 'FROM',
  );
  return all.slice(start + 1, end === -1 ? undefined : end);
}

function instructionsOf(keyword: string, from: (typeof froms)[number]): Instruction[] {
  return stageInstructions(from).filter((instruction) => instruction.getKeyword() === keyword);
}

/**
 * Converts a .dockerignore pattern to a RegExp with Go's filepath.Match rules, which the
 * builder uses: `*` and `?` never cross a `/` but do match a leading dot, and `**`
 * matches any number of directories.
 */
function patternToRegExp(pattern: string): RegExp {
  let source = '';
  for (let index = 0; index < pattern.length; index += 1) {
    const char = pattern[index] ?? '';
    if (char === '*' && pattern[index + 1] === '*') {
      source += '.*';
      index += 1;
    } else if (char === '*') {
      source += '[^/]*';
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

/**
 * Applies .dockerignore rules the way the builder does: patterns in order, the last
 * matching one wins, a leading `!` re-includes a path, and a rule that matches a
 * directory also matches everything below it.
 */
function isIgnored(rules: string[], path: string): boolean {
  const segments = path.split('/');
  const pathAndParents = segments.map((_, index) => segments.slice(0, index + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    const negated = rule.startsWith('!');
    const pattern = patternToRegExp((negated ? rule.slice(1) : rule).replace(/\/$/, ''));
    if (pathAndParents.some((candidate) => pattern.test(candidate))) {
      ignored = !negated;
    }
  }
  return ignored;
}

describe('Dockerfile', () => {
  it('has a build stage and a runtime stage', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms[0]?.getBuildStage()).toBe('build');
  });

  it('pins every base image by digest', () => {
    for (const from of froms) {
      expect(from.getImage(), `FROM on line ${from.getRange().start.line + 1}`).toMatch(
        digestPinnedImage,
      );
    }
  });

  it('builds with npm ci and npm run build on Node 24', () => {
    const build = froms[0];
    expect(build).toBeDefined();
    if (build === undefined) return;
    expect(`${build.getImageName()}:${build.getImageTag()}`).toMatch(/^node:24[-.]/);
    const runs = instructionsOf('RUN', build).map((run) => run.getArgumentsContent());
    expect(runs).toContain('npm ci');
    expect(runs).toContain('npm run build');
  });

  it('runs on a minimal Node 24 image', () => {
    const image = `${runtimeFrom?.getRegistry() ?? 'docker.io'}/${runtimeFrom?.getImageName()}`;
    expect(image).toMatch(/^(gcr\.io\/distroless\/nodejs24-debian1[23]|docker\.io\/node)$/);
    if (runtimeFrom?.getImageName() === 'node') {
      expect(runtimeFrom.getImageTag()).toMatch(/^24[-.].*slim/);
    }
  });

  it('copies only the bundle into the runtime stage', () => {
    if (runtimeFrom === undefined) throw new Error('Dockerfile has no FROM');
    const copies = instructionsOf('COPY', runtimeFrom);
    expect(copies).toHaveLength(1);
    const copy = copies[0];
    expect(copy).toBeInstanceOf(Copy);
    expect((copy as Copy).getFromFlag()?.getValue()).toBe('build');
    expect(copy?.getArgumentsContent()).toMatch(/^\/src\/dist\/? \.\/dist\/?$/);
    expect(instructionsOf('RUN', runtimeFrom)).toEqual([]);
    expect(instructionsOf('ADD', runtimeFrom)).toEqual([]);
  });

  it('runs as a numeric non-root user', () => {
    if (runtimeFrom === undefined) throw new Error('Dockerfile has no FROM');
    const users = instructionsOf('USER', runtimeFrom);
    const user = users.at(-1)?.getArgumentsContent() ?? '';
    const [uid, gid] = user.split(':');
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    if (gid !== undefined) expect(gid).toMatch(/^\d+$/);
  });

  it('starts node directly in exec form', () => {
    if (runtimeFrom === undefined) throw new Error('Dockerfile has no FROM');
    const entrypoint = instructionsOf('ENTRYPOINT', runtimeFrom).at(-1);
    expect(entrypoint, 'runtime stage has no ENTRYPOINT').toBeDefined();
    // Exec form is a JSON array. Shell form would make /bin/sh PID 1, which does not
    // forward SIGTERM to node.
    const argv: unknown = JSON.parse(entrypoint?.getArgumentsContent() ?? 'null');
    expect(Array.isArray(argv)).toBe(true);
    const [program, ...args] = argv as string[];
    expect(program).toMatch(/^(node|\/nodejs\/bin\/node|\/usr\/local\/bin\/node)$/);
    expect(args.at(-1)).toBe('dist/server.js');
    expect(instructionsOf('CMD', runtimeFrom)).toEqual([]);
  });

  it('sets the OCI source, version and revision labels from build args', () => {
    if (runtimeFrom === undefined) throw new Error('Dockerfile has no FROM');
    const labels = new Map<string, string>();
    for (const instruction of instructionsOf('LABEL', runtimeFrom)) {
      const args = instruction.getArguments().map((arg) => arg.getValue());
      for (const pair of args) {
        const [key, value] = pair.split('=');
        if (key !== undefined && value !== undefined) labels.set(key, value.replace(/"/g, ''));
      }
    }
    const argNames = instructionsOf('ARG', runtimeFrom).map(
      (arg) => arg.getArgumentsContent()?.split('=')[0],
    );
    for (const [label, arg] of [
      ['org.opencontainers.image.source', 'SOURCE_URL'],
      ['org.opencontainers.image.version', 'VERSION'],
      ['org.opencontainers.image.revision', 'REVISION'],
    ] as const) {
      expect(labels.get(label), label).toBe(`\${${arg}}`);
      expect(argNames, `ARG ${arg}`).toContain(arg);
    }
  });

  it('says how the pinned digests are refreshed', () => {
    const comments = dockerfile.getComments().map((comment) => comment.getContent());
    expect(comments.join('\n')).toMatch(/imagetools inspect|crane digest/);
  });
});

describe('.dockerignore', () => {
  const rules = readRepoFile('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

  it.each(['node_modules/pino/package.json', 'dist/server.js', '.git/HEAD', '.env', 'test/x.ts'])(
    'keeps %s out of the build context',
    (path) => {
      expect(isIgnored(rules, path)).toBe(true);
    },
  );

  it.each(['package.json', 'package-lock.json', 'tsconfig.json', 'src/server.ts'])(
    'sends %s to the build',
    (path) => {
      expect(isIgnored(rules, path)).toBe(false);
    },
  );
});
