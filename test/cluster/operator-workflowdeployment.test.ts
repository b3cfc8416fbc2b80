/**
 * The WorkflowDeployment reconciler against a real API server and a real hub, without a kubelet: the test plays the
 * deployment controller by writing Deployment status (ready replicas) itself. It checks the Deployments the operator
 * writes (name, owner, labels, injected env), and how routing moves under each strategy and old versions drain.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { useControlPlane, withNamespace } from '../harness/cluster/index.ts';
import type { ControlPlane } from '../harness/cluster/index.ts';
import { testPostgresUrl } from '../harness/postgres.ts';
import { TaskHubClient } from '../../worker/src/client/index.ts';
import type { VersionInfo } from '../../worker/src/client/index.ts';
import type { WorkflowDeploymentSpec } from '../../operator/src/crds/index.ts';
import { TASKHUBS } from '../../operator/src/runtime/resources.ts';
import { deploymentName } from '../../operator/src/workflowdeployment/deployments.ts';
import { applyCrds, eventually } from '../../operator/test/support/cluster.ts';
import { connectionOf, createTaskHub, expectHubCondition, externalHub, putAdminSecret } from '../../operator/test/support/hubs.ts';
import { startTestOperator } from '../../operator/test/support/operator.ts';
import type { TestOperator } from '../../operator/test/support/operator.ts';
import {
  createWorkflowDeployment,
  deploymentOf,
  expectCurrentVersion,
  expectDeploymentGone,
  expectDeploymentReplicas,
  expectStatus,
  expectVersionDrained,
  expectVersionState,
  markDeploymentReady,
  patchSpec,
  versionStatus,
} from '../../operator/test/support/workflows.ts';
import type { WdRef } from '../../operator/test/support/workflows.ts';

let cp: ControlPlane;
let adminUri: string;
const clients: TaskHubClient[] = [];

before(async () => {
  cp = await useControlPlane();
  adminUri = await testPostgresUrl();
  await applyCrds(cp);
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

const template = (tag: string): WorkflowDeploymentSpec['template'] => ({
  spec: { containers: [{ name: 'worker', image: `dtk/examples:${tag}`, env: [{ name: 'DTK_VERSION', value: 'overridden' }] }] },
});

/** A namespace with the operator, a Ready hub `orders` (deleted with Delete afterwards) and a client of it. */
async function withHub(body: (ns: string, op: TestOperator, hub: TaskHubClient) => Promise<void>): Promise<void> {
  await withNamespace(
    cp,
    async (ns) => {
      const op = await startTestOperator(cp, ns, { pollMs: 300 });
      try {
        await putAdminSecret(op.client, ns, 'pg-admin', adminUri);
        await createTaskHub(op.client, ns, 'orders', externalHub('pg-admin', { deletionPolicy: 'Delete' }));
        await expectHubCondition(op.client, ns, 'orders', { status: 'True' });
        const conn = await connectionOf(op.client, ns, 'orders');
        const hub = new TaskHubClient({ hubUrl: conn.uri, schema: conn.schema });
        clients.push(hub);
        await body(ns, op, hub);
        await op.client.delete(TASKHUBS, ns, 'orders');
        await eventually('hub deleted', async () => ((await op.client.get(TASKHUBS, ns, 'orders')) ? undefined : true));
      } finally {
        await op.stop();
      }
    },
    { prefix: 'wd' },
  );
}

function routing(versions: VersionInfo[]): string {
  return versions.map((v) => `${v.version}:${v.state}${v.state === 'Ramping' ? `@${v.rampPercent}` : ''}`).join(' ');
}

async function expectRouting(hub: TaskHubClient, expected: string, timeoutMs = 10_000): Promise<void> {
  let last = '';
  await eventually(
    `hub routing "${expected}"`,
    async () => {
      last = routing(await hub.listVersions());
      return last === expected ? true : undefined;
    },
    { timeoutMs, intervalMs: 100, describe: () => last },
  );
}

describe('the WorkflowDeployment reconciler', () => {
  it('writes one Deployment per version: owned, labelled, with the hub Secret and DTK_VERSION injected', async () => {
    await withHub(async (ns, op, hub) => {
      const wd = await createWorkflowDeployment(op.client, ns, 'orders', { hubRef: { name: 'orders' }, version: 'v1', replicas: 2, template: template('1') });
      const dep = await eventually('Deployment orders-v1', () => deploymentOf(wd, 'v1'));
      const obj = await expectCurrentVersion(wd, 'v1');
      assert.equal(dep.metadata?.name, 'orders-v1');
      assert.deepEqual(dep.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]), [
        ['WorkflowDeployment', 'orders', obj.metadata.uid, true],
      ]);
      assert.equal(dep.metadata?.labels?.['durabletask.dev/hub'], 'orders');
      assert.equal(dep.metadata?.labels?.['durabletask.dev/version'], 'v1');
      assert.equal(dep.metadata?.labels?.['app.kubernetes.io/part-of'], 'dtk');
      assert.equal(dep.spec?.replicas, 2);
      const pod = dep.spec?.template as { metadata: { labels: Record<string, string> }; spec: { containers: { env: unknown[] }[]; securityContext: unknown } };
      assert.equal(pod.metadata.labels['durabletask.dev/version'], 'v1');
      assert.deepEqual(pod.spec.containers[0]?.env, [
        { name: 'DTK_HUB_URL', valueFrom: { secretKeyRef: { name: 'orders-connection', key: 'uri' } } },
        { name: 'DTK_HUB_SCHEMA', valueFrom: { secretKeyRef: { name: 'orders-connection', key: 'schema' } } },
        { name: 'DTK_VERSION', value: 'v1' },
      ]);
      assert.deepEqual(pod.spec.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      // The first version of a hub gets new starts at once.
      await expectRouting(hub, 'v1:Current');
      assert.equal(obj.status?.selector, 'durabletask.dev/workflowdeployment=orders,durabletask.dev/version=v1');
      assert.equal(versionStatus(obj, 'v1')?.state, 'Current');
    });
  });

  it('names versions by a hash of the template by default, and shortens long Deployment names with a hash', async () => {
    await withHub(async (ns, op) => {
      const long = 'orders-with-a-rather-long-workflow-deployment-name-indeed';
      const wd = await createWorkflowDeployment(op.client, ns, long, { hubRef: { name: 'orders' }, template: template('1') });
      const obj = await expectStatus(wd, 'a target version', (o) => o.status?.targetVersion !== undefined);
      const version = obj.status?.targetVersion ?? '';
      assert.match(version, /^[0-9a-f]{10}$/);
      const name = deploymentName(long, version);
      assert.ok(name.length <= 63 && name !== `${long}-${version}`, name);
      assert.ok(await eventually('hashed Deployment', () => deploymentOf(wd, version)));
    });
  });

  it('AllAtOnce: routes to v2 once it is ready; v1 drains, scales to zero after scaleDownDelay and goes after deleteDelay', async () => {
    await withHub(async (ns, op, hub) => {
      const spec = { hubRef: { name: 'orders' }, version: 'v1', replicas: 1, template: template('1'), drain: { scaleDownDelay: '2s', deleteDelay: '2s' } };
      const wd = await createWorkflowDeployment(op.client, ns, 'orders', spec);
      await expectCurrentVersion(wd, 'v1');
      await markDeploymentReady(wd, 'v1');
      await patchSpec(wd, { version: 'v2', template: template('2') });
      await expectVersionState(wd, 'v2', 'Pending');
      await expectRouting(hub, 'v1:Current');
      assert.equal((await deploymentOf(wd, 'v1'))?.spec?.replicas, 1, 'v1 keeps serving until v2 is ready');

      await markDeploymentReady(wd, 'v2');
      await expectCurrentVersion(wd, 'v2');
      const drainedSince = await expectVersionDrained(wd, 'v1');
      await expectDeploymentReplicas(wd, 'v1', 0);
      const scaled = versionStatus(await expectStatus(wd, 'v1 scaled down', (o) => versionStatus(o, 'v1')?.scaledDownAt !== undefined), 'v1');
      const printed = await cp.kubectl(['get', 'wd', 'orders', '-n', ns, '--no-headers']);
      assert.match(printed.stdout, /^orders\s+v2\s+v2\s+100\s+v1:Drained,v2:Current\s/);
      assert.ok(Date.parse(scaled?.scaledDownAt ?? '') - drainedSince.getTime() >= 2000, `scaled down at ${scaled?.scaledDownAt}, drained since ${drainedSince.toISOString()}: ${JSON.stringify(scaled)}`);
      await expectDeploymentGone(wd, 'v1');
      const final = await expectStatus(wd, 'v1 removed from status', (o) => versionStatus(o, 'v1') === undefined);
      assert.deepEqual(final.status?.versions?.map((v) => v.version), ['v2']);
      assert.equal(final.status?.conditions?.find((c) => c.type === 'Available')?.status, 'True');
    });
  });

  it('Progressive: ramps 25 → 50 → 100 with the pauses, then makes the target current', async () => {
    await withHub(async (ns, op, hub) => {
      const wd = await createWorkflowDeployment(op.client, ns, 'orders', {
        hubRef: { name: 'orders' },
        version: 'v1',
        template: template('1'),
        rollout: { strategy: 'Progressive', steps: [{ percent: 25, pause: '1s' }, { percent: 50, pause: '1s' }, { percent: 100, pause: '1s' }] },
      });
      await expectCurrentVersion(wd, 'v1');
      await patchSpec(wd, { version: 'v2', template: template('2') });
      await markDeploymentReady(wd, 'v2');
      await expectRouting(hub, 'v1:Current v2:Ramping@25');
      const ramping = await expectStatus(wd, 'ramp 25', (o) => o.status?.rampPercent === 25);
      assert.equal(ramping.status?.conditions?.find((c) => c.type === 'Progressing')?.reason, 'Ramping');
      await expectRouting(hub, 'v1:Current v2:Ramping@50', 3000);
      await expectRouting(hub, 'v1:Current v2:Ramping@100', 3000);
      await expectRouting(hub, 'v1:Drained v2:Current', 3000);
      const done = await expectCurrentVersion(wd, 'v2');
      assert.equal(done.status?.rollout, undefined);
      assert.equal(done.status?.rampPercent, 100);
    });
  });

  it('Manual: keeps new starts on v1 until spec.rollout.promote names v2', async () => {
    await withHub(async (ns, op, hub) => {
      const wd = await createWorkflowDeployment(op.client, ns, 'orders', {
        hubRef: { name: 'orders' },
        version: 'v1',
        template: template('1'),
        rollout: { strategy: 'Manual' },
      });
      await expectCurrentVersion(wd, 'v1');
      await patchSpec(wd, { version: 'v2', template: template('2') });
      await markDeploymentReady(wd, 'v2');
      const waiting = await expectStatus(wd, 'awaiting promotion', (o) => o.status?.conditions?.some((c) => c.reason === 'AwaitingPromotion') ?? false);
      assert.match(waiting.status?.conditions?.find((c) => c.type === 'Progressing')?.message ?? '', /set spec\.rollout\.promote: v2/);
      await expectRouting(hub, 'v1:Current');
      await patchSpec(wd, { rollout: { strategy: 'Manual', promote: 'v2' } });
      await expectCurrentVersion(wd, 'v2');
      await expectRouting(hub, 'v1:Drained v2:Current');
    });
  });

  it('makes a version that still exists current again at once when the template returns to it', async () => {
    await withHub(async (ns, op, hub) => {
      const wd = await createWorkflowDeployment(op.client, ns, 'orders', {
        hubRef: { name: 'orders' },
        version: 'v1',
        template: template('1'),
        rollout: { strategy: 'Progressive', steps: [{ percent: 10, pause: '1h' }] },
        drain: { scaleDownDelay: '1h', deleteDelay: '1h' },
      });
      await expectCurrentVersion(wd, 'v1');
      await markDeploymentReady(wd, 'v1');
      // v2 is ramping at 10% for an hour; going back to v1's template must not wait for anything.
      await patchSpec(wd, { version: 'v2', template: template('2') });
      await markDeploymentReady(wd, 'v2');
      await expectRouting(hub, 'v1:Current v2:Ramping@10');
      await patchSpec(wd, { version: 'v3', template: template('3') });
      await expectRouting(hub, 'v1:Current v2:Drained', 5000);
      await patchSpec(wd, { version: 'v2', template: template('2') });
      await expectRouting(hub, 'v1:Drained v2:Current', 5000);
      await expectCurrentVersion(wd, 'v2');
      assert.equal((await deploymentOf(wd, 'v2'))?.spec?.replicas ?? 1, 1);
    });
  });

  it('reports a missing hub, and starts once the hub is Ready', async () => {
    await withHub(async (ns, op) => {
      const wd = await createWorkflowDeployment(op.client, ns, 'billing', { hubRef: { name: 'billing' }, version: 'v1', template: template('1') });
      const blocked = await expectStatus(wd, 'HubNotReady', (o) => o.status?.conditions?.some((c) => c.reason === 'HubNotReady') ?? false);
      assert.match(blocked.status?.conditions?.find((c) => c.type === 'Progressing')?.message ?? '', /TaskHub billing is not Ready: it does not exist/);
      assert.equal(await deploymentOf(wd, 'v1'), undefined, 'no Deployment before the hub is Ready');
      await createTaskHub(op.client, ns, 'billing', externalHub('pg-admin', { deletionPolicy: 'Delete' }));
      await expectCurrentVersion(wd, 'v1');
      await op.client.delete(TASKHUBS, ns, 'billing');
    });
  });
});
