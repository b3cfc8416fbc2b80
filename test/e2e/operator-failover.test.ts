/**
 * Two operator processes and a SIGKILL (issue 5, acceptance 6): only the holder of the leader Lease reconciles;
 * when it is killed mid-rollout, the other takes over within 20 s, the killed one comes back as a standby, and the
 * rollout converges with no duplicate Deployments, roles or Secrets.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { adminQuery } from '../harness/postgres.ts';
import type { ReplicaInfo } from '../harness/kubelet/index.ts';
import type { KubeObject } from '../../operator/src/runtime/kube.ts';
import { DEPLOYMENTS, LEASES, SECRETS } from '../../operator/src/runtime/resources.ts';
import { eventually } from '../../operator/test/support/cluster.ts';
import { expectHubCondition } from '../../operator/test/support/hubs.ts';
import {
  expectCurrentVersion,
  expectDeploymentGone,
  expectStatus,
  expectVersionDrained,
} from '../../operator/test/support/workflows.ts';
import { startE2e } from './support/env.ts';
import type { E2e } from './support/env.ts';
import { deployHub, deployWorkers, expectAllCompletedOn, expectWorkersReady, rollOut, workerTemplate } from './support/steps.ts';
import type { Hub } from './support/steps.ts';

const LEASE = 'dtk-operator-leader';
const TAKEOVER_LIMIT_MS = 20_000;

let e2e: E2e;
let hub: Hub;

before(async () => {
  e2e = await startE2e('failover', { replicas: 2, leaseDurationSeconds: 6, renewIntervalSeconds: 1 });
});

after(async () => {
  await hub?.client.close();
  await e2e?.stop();
});

/** The Lease's holder identity (`<pod>_<random>`), or '' when free. */
async function leaseHolder(): Promise<string> {
  const lease = await e2e.client.get<KubeObject & { spec?: { holderIdentity?: string } }>(LEASES, e2e.namespace, LEASE);
  return lease?.spec?.holderIdentity ?? '';
}

function operatorReplicas(): ReplicaInfo[] {
  return e2e.kubelet.replicaInfo(e2e.namespace, 'dtk-operator').filter((r) => r.phase === 'running');
}

/** The replica whose process holds the lease. */
async function leader(): Promise<ReplicaInfo> {
  return eventually('a lease holder among the operator replicas', async () => {
    const holder = await leaseHolder();
    return operatorReplicas().find((r) => holder.startsWith(`${r.name}_`));
  });
}

/** A replica's /metrics, found through the port its current process logged. */
async function metricsOf(replica: ReplicaInfo): Promise<string> {
  const text = await e2e.kubelet.waitForLog(replica.logPath, /"msg":"listening"/);
  const lines = text.split('\n').filter((l) => l.includes('"msg":"listening"'));
  const { metricsPort } = JSON.parse(lines.at(-1) ?? '{}') as { metricsPort: number };
  const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  return response.text();
}

function metric(text: string, line: RegExp): number {
  const match = text.split('\n').find((l) => line.test(l));
  return match ? Number(match.split(' ').at(-1)) : 0;
}

describe('two operator processes', () => {
  it('reconcile only in the lease holder', async () => {
    hub = await deployHub(e2e, 'orders');
    const holder = await leader();
    const standby = operatorReplicas().find((r) => r.name !== holder.name);
    assert.ok(standby, 'two operator replicas run');
    const leaderMetrics = await metricsOf(holder);
    const standbyMetrics = await metricsOf(standby);
    assert.equal(metric(leaderMetrics, /^dtk_operator_leader /), 1);
    assert.ok(metric(leaderMetrics, /^dtk_operator_reconcile_total\{controller="taskhub"/) > 0, 'the leader reconciled the hub');
    assert.equal(metric(standbyMetrics, /^dtk_operator_leader /), 0);
    assert.doesNotMatch(standbyMetrics, /^dtk_operator_reconcile_total/m, 'the standby reconciled nothing');
  });

  it('survive a SIGKILL of the leader mid-rollout: the standby takes over within 20 s and the rollout converges', async (t) => {
    const wd = await deployWorkers(e2e, hub, 'orders', {
      version: 'v1',
      replicas: 1,
      template: workerTemplate('v1'),
      rollout: { strategy: 'Progressive', steps: [{ percent: 50, pause: '4s' }] },
      drain: { scaleDownDelay: '1s', deleteDelay: '1s' },
    });
    await expectWorkersReady(e2e, wd, 'v1', 1);
    const pinned = await Promise.all(
      Array.from({ length: 10 }, (_, i) => hub.client.scheduleNewOrchestration('versionProbe', { timeoutMs: 8000 }, { instanceId: `pinned-${i}` })),
    );
    await Promise.all(pinned.map((id) => hub.client.waitForOrchestrationStart(id, { timeoutMs: 30_000 })));

    await rollOut(wd, 'v2');
    await expectStatus(wd, 'ramping at 50 %', (o) => o.status?.rampPercent === 50 && o.status.rollout?.version === 'v2');

    // Kill the leader mid-ramp, without a chance to release its lease.
    const killed = await leader();
    const killedIdentity = await leaseHolder();
    const killedAt = Date.now();
    process.kill(killed.pid ?? 0, 'SIGKILL');
    const successor = await eventually(
      'another process to hold the lease',
      async () => {
        const holder = await leaseHolder();
        return holder && holder !== killedIdentity ? holder : undefined;
      },
      { timeoutMs: TAKEOVER_LIMIT_MS + 5000, intervalMs: 100 },
    );
    const takeoverMs = Date.now() - killedAt;
    t.diagnostic(`the standby held the lease ${takeoverMs} ms after the leader was killed`);
    assert.ok(takeoverMs < TAKEOVER_LIMIT_MS, `took over after ${takeoverMs} ms`);
    const heir = operatorReplicas().find((r) => successor.startsWith(`${r.name}_`));
    assert.ok(heir, 'the new holder is a running replica');
    assert.notEqual(heir.name, killed.name, 'the standby took over (a restarted process waits a full lease first)');

    // The rollout finishes under the new leader: v2 current, v1 drained, scaled down and deleted.
    await expectCurrentVersion(wd, 'v2', 30_000);
    await expectAllCompletedOn(hub, pinned, 'v1');
    await expectVersionDrained(wd, 'v1', 30_000);
    await expectDeploymentGone(wd, 'v1', 30_000);
    await expectWorkersReady(e2e, wd, 'v2', 1);
    await expectHubCondition(e2e.client, e2e.namespace, 'orders', { status: 'True' });

    // No duplicates: one Deployment per version, one role, one connection Secret.
    const deployments = await e2e.client.list(DEPLOYMENTS, e2e.namespace, { labelSelector: 'durabletask.dev/workflowdeployment=orders' });
    assert.deepEqual(deployments.items.map((d) => d.metadata?.name), ['orders-v2']);
    const secrets = await e2e.client.list(SECRETS, e2e.namespace, { labelSelector: 'durabletask.dev/hub=orders' });
    assert.deepEqual(secrets.items.map((s) => s.metadata?.name), ['orders-connection']);
    const roles = await adminQuery<{ n: string }>(`SELECT count(*) AS n FROM pg_roles WHERE rolname LIKE $1`, [`dtk_${e2e.namespace.replace(/-/g, '_')}_orders%`]);
    assert.equal(Number(roles.rows[0]?.n), 1);

    // The killed process came back (the kubelet restarts it) and waits as the standby.
    const restarted = await eventually('the killed replica to run again', async () =>
      operatorReplicas().find((r) => r.name === killed.name && r.restarts >= 1),
    );
    assert.equal(metric(await metricsOf(restarted), /^dtk_operator_leader /), 0);
    assert.equal(readFileSync(killed.logPath, 'utf8').match(/campaigning for the leader lease/g)?.length, 2);
  });
});
