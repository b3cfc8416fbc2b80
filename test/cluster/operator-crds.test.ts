/**
 * The dtk CRDs on a real API server: they install with short names, printer columns and subresources, fill in
 * defaults, and reject invalid specs with messages that name the field (issue 5, acceptance 7). The same cases go
 * through the operator's ajv validation, which must agree with the server.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { useControlPlane, withNamespace } from '../harness/cluster/index.ts';
import type { ControlPlane } from '../harness/cluster/index.ts';
import { validateTaskHubSpec, validateWorkflowDeploymentSpec } from '../../operator/src/crds/index.ts';
import { applyCrds, kubectlApply } from '../../operator/test/support/cluster.ts';

let cp: ControlPlane;

before(async () => {
  cp = await useControlPlane();
  await applyCrds(cp);
});

const API = 'durabletask.dev/v1alpha1';
const template = { spec: { containers: [{ name: 'worker', image: 'dtk/examples:1' }] } };

function taskHub(namespace: string, name: string, spec: object) {
  return { apiVersion: API, kind: 'TaskHub', metadata: { name, namespace }, spec };
}

function workflowDeployment(namespace: string, name: string, spec: object) {
  return { apiVersion: API, kind: 'WorkflowDeployment', metadata: { name, namespace }, spec };
}

/** Applies an object that must be refused, and returns the server's message. */
async function expectRejected(obj: object): Promise<string> {
  const r = await kubectlApply(cp, obj);
  assert.notEqual(r.code, 0, `the API server accepted an invalid object: ${r.stdout}`);
  return r.stderr;
}

describe('the dtk CRDs on the API server', () => {
  it('are served with short names th and wd, and print the issue\'s columns', async () => {
    const resources = await cp.kubectl(['api-resources', '--api-group=durabletask.dev', '-o', 'wide']);
    assert.equal(resources.code, 0, resources.stderr);
    assert.match(resources.stdout, /taskhubs\s+th\s+durabletask\.dev\/v1alpha1\s+true\s+TaskHub/);
    assert.match(resources.stdout, /workflowdeployments\s+wd\s+durabletask\.dev\/v1alpha1\s+true\s+WorkflowDeployment/);
    await withNamespace(cp, async (ns) => {
      assert.equal((await kubectlApply(cp, taskHub(ns, 'orders', { postgres: { managed: {} } }))).code, 0);
      assert.equal((await kubectlApply(cp, workflowDeployment(ns, 'orders', { hubRef: { name: 'orders' }, template }))).code, 0);
      const th = await cp.kubectl(['get', 'th', '-n', ns]);
      assert.match(th.stdout.split('\n')[0] ?? '', /^NAME\s+READY\s+SCHEMA\s+RUNNING\s+AGE$/);
      const wd = await cp.kubectl(['get', 'wd', '-n', ns]);
      assert.match(wd.stdout.split('\n')[0] ?? '', /^NAME\s+CURRENT\s+TARGET\s+RAMP\s+VERSIONS\s+AGE$/);
    });
  });

  it('fill in defaults: schema isolation, Retain, drain delays, step pauses', async () => {
    await withNamespace(cp, async (ns) => {
      await kubectlApply(cp, taskHub(ns, 'orders', { postgres: { external: { secretRef: { name: 'pg' } } } }));
      const th = JSON.parse((await cp.kubectl(['get', 'th', 'orders', '-n', ns, '-o', 'json'])).stdout) as { spec: unknown };
      assert.deepEqual(th.spec, {
        postgres: { external: { secretRef: { name: 'pg', key: 'uri' } } },
        isolation: 'schema',
        deletionPolicy: 'Retain',
      });
      await kubectlApply(
        cp,
        workflowDeployment(ns, 'orders', { hubRef: { name: 'orders' }, template, rollout: { strategy: 'Progressive', steps: [{ percent: 50 }] } }),
      );
      const wd = JSON.parse((await cp.kubectl(['get', 'wd', 'orders', '-n', ns, '-o', 'json'])).stdout) as { spec: Record<string, unknown> };
      assert.deepEqual(wd.spec.rollout, { strategy: 'Progressive', steps: [{ percent: 50, pause: '60s' }] });
      assert.deepEqual(wd.spec.drain, { scaleDownDelay: '5m', deleteDelay: '1h' });
    });
  });

  it('reject a TaskHub with both external and managed, naming spec.postgres', async () => {
    await withNamespace(cp, async (ns) => {
      const spec = { postgres: { external: { secretRef: { name: 'pg' } }, managed: {} } };
      const message = await expectRejected(taskHub(ns, 'both', spec));
      assert.match(message, /spec\.postgres: Invalid value: .*set exactly one of spec\.postgres\.external and spec\.postgres\.managed/);
      assert.deepEqual(validateTaskHubSpec(spec).map((p) => p.field), ['spec.postgres']);
      const neither = await expectRejected(taskHub(ns, 'neither', { postgres: {} }));
      assert.match(neither, /spec\.postgres: .*set exactly one of/);
    });
  });

  it('reject negative replicas, naming spec.replicas', async () => {
    await withNamespace(cp, async (ns) => {
      const spec = { hubRef: { name: 'orders' }, template, replicas: -1 };
      const message = await expectRejected(workflowDeployment(ns, 'negative', spec));
      assert.match(message, /spec\.replicas: Invalid value: -1: spec\.replicas in body should be greater than or equal to 0/);
      assert.deepEqual(validateWorkflowDeploymentSpec(spec).map((p) => p.field), ['spec.replicas']);
    });
  });

  it('reject a ramp over 100 and ramps that do not increase, naming the step', async () => {
    await withNamespace(cp, async (ns) => {
      const over = { hubRef: { name: 'orders' }, template, rollout: { strategy: 'Progressive', steps: [{ percent: 50 }, { percent: 150 }] } };
      const message = await expectRejected(workflowDeployment(ns, 'over', over));
      assert.match(message, /spec\.rollout\.steps\[1\]\.percent: Invalid value: 150: .*less than or equal to 100/);
      assert.deepEqual(validateWorkflowDeploymentSpec(over).map((p) => p.field), ['spec.rollout.steps[1].percent']);

      const down = { hubRef: { name: 'orders' }, template, rollout: { strategy: 'Progressive', steps: [{ percent: 50 }, { percent: 25 }] } };
      assert.match(await expectRejected(workflowDeployment(ns, 'down', down)), /spec\.rollout\.steps: Invalid value: .*must strictly increase/);
      assert.deepEqual(validateWorkflowDeploymentSpec(down).map((p) => p.field), ['spec.rollout.steps']);

      const none = { hubRef: { name: 'orders' }, template, rollout: { strategy: 'Progressive' } };
      assert.match(await expectRejected(workflowDeployment(ns, 'none', none)), /spec\.rollout\.steps: Required value: .*at least one ramp step/);
    });
  });

  it('reject a changed hubRef and a changed isolation, naming the field', async () => {
    await withNamespace(cp, async (ns) => {
      assert.equal((await kubectlApply(cp, workflowDeployment(ns, 'orders', { hubRef: { name: 'orders' }, template }))).code, 0);
      const moved = await expectRejected(workflowDeployment(ns, 'orders', { hubRef: { name: 'billing' }, template }));
      assert.match(moved, /spec\.hubRef: Invalid value: .*hubRef is immutable/);

      assert.equal((await kubectlApply(cp, taskHub(ns, 'orders', { postgres: { managed: {} } }))).code, 0);
      const isolated = await expectRejected(taskHub(ns, 'orders', { postgres: { managed: {} }, isolation: 'database' }));
      assert.match(isolated, /spec\.isolation: Invalid value: "database": isolation is immutable/);
      const switched = await expectRejected(taskHub(ns, 'orders', { postgres: { external: { secretRef: { name: 'pg' } } } }));
      assert.match(switched, /spec\.postgres: .*switching between external and managed is not supported/);
    });
  });

  it('expose the scale subresource of a WorkflowDeployment', async () => {
    await withNamespace(cp, async (ns) => {
      await kubectlApply(cp, workflowDeployment(ns, 'orders', { hubRef: { name: 'orders' }, template, replicas: 1 }));
      const scaled = await cp.kubectl(['scale', 'wd/orders', '-n', ns, '--replicas=3']);
      assert.equal(scaled.code, 0, scaled.stderr);
      const replicas = await cp.kubectl(['get', 'wd', 'orders', '-n', ns, '-o', 'jsonpath={.spec.replicas}']);
      assert.equal(replicas.stdout, '3');
    });
  });
});
