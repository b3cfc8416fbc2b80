import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { CRD_FILES, parseDuration, renderCrds, validateTaskHubSpec, validateWorkflowDeploymentSpec } from '../../src/crds/index.ts';

const root = join(import.meta.dirname, '..', '..', '..');

const worker = { spec: { containers: [{ name: 'worker', image: 'dtk/examples:1' }] } };

describe('the CRD generator', () => {
  it('wrote exactly what it generates today (run `npm run crds:generate` after changing operator/src/crds)', () => {
    const rendered = renderCrds();
    for (const [key, file] of Object.entries(CRD_FILES) as [keyof typeof CRD_FILES, string][]) {
      assert.equal(readFileSync(join(root, file), 'utf8'), rendered[key], `${file} is stale`);
    }
  });

  it('leaves the TypeScript twins of CEL rules out of the YAML', () => {
    const text = renderCrds().workflowdeployments;
    assert.doesNotMatch(text, /check:/);
    const crd = parse(text) as { spec: { versions: { subresources: Record<string, unknown> }[] } };
    assert.deepEqual(Object.keys(crd.spec.versions[0]?.subresources ?? {}).sort(), ['scale', 'status']);
  });
});

describe('spec validation outside the API server (ajv + CEL twins)', () => {
  it('accepts a minimal TaskHub and fills in the defaults the API server would', () => {
    const spec: Record<string, unknown> = { postgres: { external: { secretRef: { name: 'pg-admin' } } } };
    assert.deepEqual(validateTaskHubSpec(spec), []);
    assert.equal(spec.isolation, 'schema');
    assert.equal(spec.deletionPolicy, 'Retain');
    assert.deepEqual(spec.postgres, { external: { secretRef: { name: 'pg-admin', key: 'uri' } } });
  });

  it('rejects a TaskHub with both external and managed, naming spec.postgres', () => {
    const problems = validateTaskHubSpec({ postgres: { external: { secretRef: { name: 's' } }, managed: {} } });
    assert.deepEqual(problems.map((p) => p.field), ['spec.postgres']);
    assert.match(problems[0]?.message ?? '', /exactly one of spec\.postgres\.external and spec\.postgres\.managed/);
  });

  it('rejects a changed isolation as an update, but not on create', () => {
    const old = { postgres: { managed: {} }, isolation: 'schema' };
    assert.deepEqual(validateTaskHubSpec({ postgres: { managed: {} }, isolation: 'database' }), []);
    const problems = validateTaskHubSpec({ postgres: { managed: {} }, isolation: 'database' }, old);
    assert.deepEqual(problems.map((p) => p.field), ['spec.isolation']);
  });

  it('rejects unknown fields and bad enums with the field path', () => {
    const problems = validateTaskHubSpec({ postgres: { managed: {} }, deletionPolicy: 'Forget', colour: 'blue' });
    assert.deepEqual(problems.map((p) => p.field).sort(), ['spec.colour', 'spec.deletionPolicy']);
    assert.match(problems.find((p) => p.field === 'spec.deletionPolicy')?.message ?? '', /"Retain", "Delete"/);
  });

  it('accepts a Progressive WorkflowDeployment and defaults its steps, drain and strategy', () => {
    const spec: Record<string, unknown> = {
      hubRef: { name: 'orders' },
      template: worker,
      rollout: { strategy: 'Progressive', steps: [{ percent: 25 }, { percent: 50, pause: '30s' }, { percent: 100 }] },
    };
    assert.deepEqual(validateWorkflowDeploymentSpec(spec), []);
    assert.deepEqual(spec.drain, { scaleDownDelay: '5m', deleteDelay: '1h' });
    assert.deepEqual((spec.rollout as { steps: unknown[] }).steps[0], { percent: 25, pause: '60s' });
  });

  it('rejects negative replicas, a ramp over 100 and decreasing steps, each by field', () => {
    const problems = validateWorkflowDeploymentSpec({
      hubRef: { name: 'orders' },
      template: worker,
      replicas: -1,
      rollout: { strategy: 'Progressive', steps: [{ percent: 50 }, { percent: 25 }, { percent: 150 }] },
    });
    assert.deepEqual(problems.map((p) => p.field).sort(), ['spec.replicas', 'spec.rollout.steps', 'spec.rollout.steps[2].percent']);
  });

  it('rejects a changed hubRef, a Progressive rollout without steps and promote outside Manual', () => {
    const base = { hubRef: { name: 'orders' }, template: worker };
    assert.deepEqual(
      validateWorkflowDeploymentSpec({ ...base, hubRef: { name: 'billing' } }, base).map((p) => p.field),
      ['spec.hubRef'],
    );
    assert.deepEqual(
      validateWorkflowDeploymentSpec({ ...base, rollout: { strategy: 'Progressive', promote: 'v2' } }).map((p) => p.field),
      ['spec.rollout.steps', 'spec.rollout.promote'],
    );
  });

  it('requires at least one container with an image', () => {
    const problems = validateWorkflowDeploymentSpec({ hubRef: { name: 'h' }, template: { spec: { containers: [] } } });
    assert.deepEqual(problems.map((p) => p.field), ['spec.template.spec.containers']);
  });
});

describe('durations', () => {
  it('parses the forms the CRD pattern allows', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.throws(() => parseDuration('10'), /invalid duration '10'/);
    assert.throws(() => parseDuration('5 m'), /invalid duration/);
  });
});
