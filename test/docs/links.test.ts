import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { ROOT } from '../support/process.ts';
import {
  codeBlocks,
  headingAnchors,
  headingLevels,
  linkTargets,
  markdownFiles,
  readText,
} from './markdown.ts';

const english = readText(join(ROOT, 'README.md'));
const chinese = readText(join(ROOT, 'README.zh-CN.md'));

describe('README.zh-CN.md', () => {
  it('has the same section structure', () => {
    expect(headingLevels(chinese)).toEqual(headingLevels(english));
  });

  it('has the same commands and queries', () => {
    expect(codeBlocks(chinese)).toEqual(codeBlocks(english));
  });

  it('is linked from the top of README.md', () => {
    const top = english.split('\n').slice(0, 5).join('\n');

    expect(linkTargets(top)).toContain('README.zh-CN.md');
    expect(linkTargets(chinese.split('\n').slice(0, 5).join('\n'))).toContain('README.md');
  });
});

describe('Markdown links', () => {
  const files = markdownFiles(ROOT);

  it('finds the documentation', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'README.zh-CN.md', 'docs/logs.md']));
  });

  it.each(files)('resolve in %s', (file) => {
    const text = readText(join(ROOT, file));
    const broken: string[] = [];

    for (const target of linkTargets(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;

      const [path = '', anchor] = target.split('#');
      const resolved = path === '' ? join(ROOT, file) : join(ROOT, dirname(file), path);
      if (!existsSync(resolved)) {
        broken.push(target);
        continue;
      }
      if (anchor !== undefined && resolved.endsWith('.md')) {
        const anchors = headingAnchors(readText(resolved));
        if (!anchors.includes(decodeURIComponent(anchor))) broken.push(target);
      }
    }

    expect(broken).toEqual([]);
  });
});

describe('runbook_url', () => {
  it('points at a runbook page for every alert', () => {
    const rule = parse(readText(join(ROOT, 'k8s/monitoring/prometheusrule.yaml'))) as {
      spec: { groups: { rules: { alert?: string; annotations?: Record<string, string> }[] }[] };
    };
    const alerts = rule.spec.groups.flatMap((group) => group.rules).filter((r) => r.alert);

    expect(alerts.length).toBeGreaterThan(0);
    for (const alert of alerts) {
      const url = alert.annotations?.runbook_url ?? '';
      expect(existsSync(join(ROOT, url)), `${alert.alert}: ${url}`).toBe(true);
      expect(url).toBe(`docs/runbooks/${alert.alert}.md`);
    }
  });
});
