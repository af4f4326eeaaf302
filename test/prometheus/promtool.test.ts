import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

import {
  exportRuleFile,
  listAlertingRules,
  listRecordingRules,
  readPrometheusRuleSpec,
} from '../../src/cli/rules.ts';
import { ROOT } from '../support/process.ts';

const run = promisify(execFile);
const PROMTOOL = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';
const PROMETHEUS_DIR = join(ROOT, 'otel/prometheus');

let directory: string;

/** Runs promtool and returns its combined output; a non-zero exit fails with that output. */
async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { cwd: directory });
    return stdout + stderr;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${stdout}${stderr}`, { cause: error });
  }
}

beforeAll(() => {
  if (!existsSync(PROMTOOL)) {
    throw new Error(
      `promtool not found at ${PROMTOOL}: install it with \`apt-get install prometheus\` ` +
        '(or set PROMTOOL_BIN to its path)',
    );
  }
  directory = mkdtempSync(join(tmpdir(), 'httpserver-promtool-'));
  exportRuleFile(join(directory, 'httpserver.rules.yml'));
  copyFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), join(directory, 'prometheus.yml'));
  copyFileSync(join(PROMETHEUS_DIR, 'rules.test.yml'), join(directory, 'rules.test.yml'));
});

afterAll(() => {
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
});

describe('promtool', () => {
  it('checks the exported rules', async () => {
    const output = await promtool('check', 'rules', 'httpserver.rules.yml');

    expect(output).toContain('SUCCESS');
  });

  it('checks the local configuration', async () => {
    const output = await promtool('check', 'config', 'prometheus.yml');

    expect(output).toContain('SUCCESS: prometheus.yml is valid prometheus config file syntax');
    expect(output).toContain('SUCCESS: 1 rule files found');
  });

  // Debian's promtool 2.42 is built without Kubernetes service discovery and rejects
  // kubernetes_sd_configs, so this checks the file with that block swapped for file_sd_configs.
  // Every relabel rule is still parsed and validated.
  // NOTE: the kubernetes_sd_configs block itself is only checked by an upstream promtool.
  it('checks the Kubernetes configuration', async () => {
    const config = parse(
      readFileSync(join(PROMETHEUS_DIR, 'prometheus-kubernetes.yml'), 'utf8'),
    ) as { scrape_configs: Record<string, unknown>[] };
    const [podJob] = config.scrape_configs;
    expect(podJob?.kubernetes_sd_configs).toEqual([{ role: 'pod' }]);
    delete podJob?.kubernetes_sd_configs;
    Object.assign(podJob ?? {}, { file_sd_configs: [{ files: ['pods.json'] }] });
    writeFileSync(join(directory, 'prometheus-kubernetes.yml'), stringify(config));

    const output = await promtool('check', 'config', 'prometheus-kubernetes.yml');

    expect(output).toContain('is valid prometheus config file syntax');
  });

  it('passes the alert unit tests', async () => {
    const output = await promtool('test', 'rules', 'rules.test.yml');

    expect(output).toContain('SUCCESS');
  });
});

describe('rule file contents', () => {
  const ruleFile = readPrometheusRuleSpec();
  const alerts = listAlertingRules(ruleFile);
  const unitTests = parse(readFileSync(join(PROMETHEUS_DIR, 'rules.test.yml'), 'utf8')) as {
    tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
  };
  const alertTests = unitTests.tests.flatMap((test) => test.alert_rule_test ?? []);

  it('has the expected alerts', () => {
    const names = new Set(alerts.map((alert) => alert.alert));

    expect([...names].sort()).toEqual([
      'HttpserverErrorBudgetBurn',
      'HttpserverLatencyBudgetBurn',
      'HttpserverLatencyOverflow',
      'HttpserverTargetDown',
    ]);
  });

  for (const alert of alerts) {
    const name = alert.alert ?? '';
    const severity = alert.labels?.severity ?? 'none';

    it(`${name} ${severity} has for, labels, annotations`, () => {
      expect(alert.for).toMatch(/^[0-9]+[smhd]$/);
      expect(['critical', 'warning']).toContain(alert.labels?.severity);
      expect(alert.annotations?.summary).toBeTruthy();
      expect(alert.annotations?.description).toBeTruthy();
      expect(alert.annotations?.runbook_url).toBe(`docs/runbooks/${name}.md`);
    });

    it(`${name} ${severity} has a runbook page`, () => {
      const page = readFileSync(join(ROOT, `docs/runbooks/${name}.md`), 'utf8');

      expect(page).toContain(`# ${name}`);
      expect(page).toContain('```promql');
    });
  }

  for (const name of new Set(alerts.map((alert) => alert.alert ?? ''))) {
    it(`${name} is unit-tested firing and quiet`, () => {
      const tests = alertTests.filter((test) => test.alertname === name);

      expect(tests.some((test) => test.exp_alerts.length > 0)).toBe(true);
      expect(tests.some((test) => test.exp_alerts.length === 0)).toBe(true);
    });
  }

  it('names recording rules level:metric:operations', () => {
    const names = listRecordingRules(ruleFile).map((rule) => rule.record);

    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      expect(name).toMatch(/^[a-z_]+:[a-z_]+:[a-z0-9_]+$/);
    }
  });
});
