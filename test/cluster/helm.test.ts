import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ensureCtPath, ensureTools } from '../harness/tools/build.ts';
import { run } from '../harness/tools/run.ts';
import { TOOLS_DIR } from '../harness/tools/versions.ts';

const CHART = join(import.meta.dirname, '..', 'fixtures', 'chart');
const CT_DIR = join(TOOLS_DIR, 'ct');

async function ctLint(chart: string) {
  const PATH = await ensureCtPath();
  return run(
    'ct',
    [
      'lint',
      '--config', join(CT_DIR, 'ct.yaml'),
      '--lint-conf', join(CT_DIR, 'lintconf.yaml'),
      '--chart-yaml-schema', join(CT_DIR, 'chart_schema.yaml'),
      '--charts', chart,
    ],
    { env: { ...process.env, PATH }, timeoutMs: 120_000 },
  );
}

describe('chart linting with the built helm and ct', () => {
  it('passes helm lint --strict, with default and with CI values', async () => {
    const { helm } = await ensureTools(['helm']);
    const plain = await run(helm, ['lint', '--strict', CHART]);
    assert.equal(plain.code, 0, plain.stdout + plain.stderr);
    const ci = await run(helm, ['lint', '--strict', CHART, '-f', join(CHART, 'ci', 'default-values.yaml')]);
    assert.equal(ci.code, 0, ci.stdout + ci.stderr);
  });

  it('fails helm lint --strict when values break values.schema.json', async () => {
    const { helm } = await ensureTools(['helm']);
    const dir = mkdtempSync(join(tmpdir(), 'dtk-values-'));
    try {
      writeFileSync(join(dir, 'bad.yaml'), 'replicas: -1\n');
      const bad = await run(helm, ['lint', '--strict', CHART, '-f', join(dir, 'bad.yaml')]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stdout + bad.stderr, /replicas/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes ct lint (Chart.yaml schema, yamllint, helm lint per CI values file)', async () => {
    const result = await ctLint(CHART);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout + result.stderr, /All charts linted successfully/);
  });

  it('fails ct lint when Chart.yaml breaks our chart schema', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtk-chart-'));
    try {
      const chart = join(dir, 'dtk-fixture');
      cpSync(CHART, chart, { recursive: true });
      const chartYaml = readFileSync(join(chart, 'Chart.yaml'), 'utf8');
      writeFileSync(join(chart, 'Chart.yaml'), `${chartYaml}unknownField: true\n`);
      const result = await ctLint(chart);
      assert.notEqual(result.code, 0, 'ct must reject a Chart.yaml field the schema does not know');
      assert.match(result.stdout + result.stderr, /unknownField: Unexpected element/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
