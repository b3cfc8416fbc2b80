/**
 * charts/dtk passes the chart tooling the Helm community uses (what `npm run lint:chart` runs), and helm refuses
 * values that break values.schema.json with a message naming the value.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ciValuesFiles, helmTemplate, lintChart } from '../chart/chart.ts';

describe('charts/dtk under helm lint, ct lint and helm template', () => {
  it('passes every check of npm run lint:chart', async () => {
    const steps = await lintChart();
    const failed = steps.filter((s) => !s.ok).map((s) => `${s.name}:\n${s.output}`);
    assert.deepEqual(failed, []);
    // One lint and one render per CI values file, the default lint, ct lint and the CRD copies.
    assert.equal(steps.length, 3 + 2 * ciValuesFiles().length);
    assert.ok(ciValuesFiles().length >= 3, 'default, full and single-replica configurations at least');
    const ct = steps.find((s) => s.name.startsWith('ct lint'));
    assert.match(ct?.output ?? '', /All charts linted successfully/);
    // ct lints Chart.yaml against the yamale schema and runs yamllint; both must have run, not been skipped.
    assert.match(ct?.output ?? '', /Validation success/);
    for (const file of ciValuesFiles()) {
      assert.ok((ct?.output ?? '').includes(`values file "${file}"`), `ct lints with ${file}`);
    }
  });

  const refused: [string, Record<string, unknown>, RegExp][] = [
    ['a negative replica count', { replicaCount: -1 }, /\/replicaCount/],
    ['an unknown log level', { operator: { logLevel: 'loud' } }, /\/operator\/logLevel/],
    ['a misspelt key', { operator: { leaderElectoin: { enabled: true } } }, /\/operator.*leaderElectoin/],
    ['a port out of range', { operator: { metricsPort: 70000 } }, /\/operator\/metricsPort/],
    ['a digest that is not sha256', { image: { repository: 'dtk/operator', digest: 'latest' } }, /\/image\/digest/],
    ['a lease shorter than allowed', { operator: { leaderElection: { leaseDurationSeconds: 1 } } }, /leaseDurationSeconds/],
    ['a bad deletion policy for the sample hub', { sampleHub: { enabled: true, deletionPolicy: 'Drop' } }, /\/sampleHub\/deletionPolicy/],
    ['a top-level typo', { replicas: 2 }, /additional properties 'replicas' not allowed/],
  ];
  for (const [what, values, message] of refused) {
    it(`refuses ${what}, naming the value`, async () => {
      const result = await helmTemplate({ values });
      assert.notEqual(result.code, 0, `helm accepted ${JSON.stringify(values)}`);
      assert.match(result.stderr, /values don't meet the specifications of the schema/);
      assert.match(result.stderr, message);
    });
  }

  it('refuses a ServiceMonitor without the metrics Service it would scrape', async () => {
    const result = await helmTemplate({
      values: { metrics: { service: { enabled: false }, serviceMonitor: { enabled: true } } },
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /metrics\.serviceMonitor\.enabled needs metrics\.service\.enabled/);
  });

  it('refuses a renew interval that is not below the lease duration', async () => {
    const result = await helmTemplate({
      values: { operator: { leaderElection: { leaseDurationSeconds: 10, renewIntervalSeconds: 10 } } },
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /renewIntervalSeconds must be below leaseDurationSeconds/);
  });

  it('refuses several replicas without leader election', async () => {
    const result = await helmTemplate({ values: { operator: { leaderElection: { enabled: false } } } });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /replicaCount above 1 needs operator\.leaderElection\.enabled/);
  });

  it('refuses serviceAccount.create=false without the name of an existing ServiceAccount', async () => {
    const result = await helmTemplate({ values: { serviceAccount: { create: false } } });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /serviceAccount\.name must name an existing ServiceAccount/);
  });
});
