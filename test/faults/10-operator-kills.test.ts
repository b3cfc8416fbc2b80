/**
 * Scenario 10: the operator killed at several points of a hub's provisioning, a rollout and a TaskHub deletion.
 * One operator replica runs as a process under the local kubelet with its test-only crash points enabled; each step
 * arms the points it passes, so the process SIGKILLs itself exactly between two side effects (no cleanup, no lease
 * release), the kubelet starts it again, and the new process must finish the job from what it finds:
 *  - provisioning, killed after the role, after the Secret and after migrating: one role, one schema, one Secret,
 *    migrations recorded once, no right left over from the migration;
 *  - a rollout v1 → v2 with instances pinned to v1, killed after creating v2's Deployment, after writing routing,
 *    after scaling v1 to zero and after deleting it: one Deployment per live version once each pair of kills has
 *    converged (mid-rollout and after the drain), status saying so, and every instance, started before, during or
 *    after the kills, completes exactly once on its version;
 *  - deletion with Delete, killed after dropping the schema, after dropping the role and before removing the
 *    finalizer: nothing left; deletion with Retain, killed before removing the finalizer: role, data and Secret
 *    kept and released, and a TaskHub of the same name adopts them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TaskHubClient } from '../../worker/src/client/index.ts';
import type { WorkflowDeploymentSpec } from '../../operator/src/crds/index.ts';
import { DEPLOYMENTS, TASKHUBS, WORKFLOWDEPLOYMENTS } from '../../operator/src/runtime/resources.ts';
import { eventually } from '../../operator/test/support/cluster.ts';
import { connectionOf, createTaskHub, expectHubCondition, externalHub } from '../../operator/test/support/hubs.ts';
import { expectCurrentVersion, expectStatus } from '../../operator/test/support/workflows.ts';
import type { WdRef } from '../../operator/test/support/workflows.ts';
import { deployWorkers, expectNewStartsGoTo, expectWorkersReady, workerTemplate } from '../e2e/support/steps.ts';
import type { Hub } from '../e2e/support/steps.ts';
import { checkInvariants, describeViolations, installAudit } from './invariants.ts';
import type { AckedEvent, Expectation } from './invariants.ts';
import { recordFigures } from './report.ts';
import {
  asHub,
  auditedHub,
  expectHubGone,
  expectHubRetained,
  expectOneHub,
  expectVersions,
  namesOf,
} from './operator-kills/checks.ts';
import { killCount, startKillWorld } from './operator-kills/world.ts';
import type { KillWorld } from './operator-kills/world.ts';

const PINNED = 8;
const CONVERGE_MS = 45_000;

let world: KillWorld;
let hub: Hub;
let wd: WdRef;
let audit: ReturnType<typeof auditedHub>;
/** The test holds connections to the rollout hub (closed before its role is dropped). */
let connected = false;
const acked: AckedEvent[] = [];
const expected = new Map<string, Expectation>();
let instancesChecked = 0;
let violations = 0;

before(async () => {
  world = await startKillWorld('opkill');
});

after(async () => {
  recordFigures({ test: '10 operator kills', instances: instancesChecked, faults: world?.kills ?? {}, violations });
  try {
    await closeHub();
  } finally {
    // Always: the kubelet's processes (the operator among them) would keep this test process alive.
    await world?.stop();
  }
});

/** Closes the test's own connections to the rollout hub (before its role is dropped, and in after()). */
async function closeHub(): Promise<void> {
  if (!connected) return;
  connected = false;
  try {
    await audit.close();
  } finally {
    await hub.client.close();
  }
}

/**
 * The e2e worker template, whose workers name themselves `<version>/<pod>` so the invariant checker can tell which
 * version committed each turn.
 */
function template(version: string): WorkflowDeploymentSpec['template'] {
  const t = workerTemplate(version);
  const [container] = t.spec.containers;
  assert.ok(container);
  container.env = [...(container.env ?? []), { name: 'DTK_WORKER_ID', value: `${version}/$(POD_NAME)` }];
  return t;
}

function start(name: string, input: unknown, id: string): Promise<string> {
  expected.set(id, { status: 'Completed' });
  return hub.client.scheduleNewOrchestration(name, input, { instanceId: id });
}

describe('the operator killed at chosen points', () => {
  it('provisions a hub across kills after the role, the Secret and the migrations: one of each, nothing left over', async (t) => {
    const e2e = world.e2e;
    world.arm('after-role-create', 'after-secret-write', 'after-migrate');
    await createTaskHub(e2e.client, e2e.namespace, 'orders', { ...externalHub('pg-admin'), deletionPolicy: 'Delete' });
    const killedAt = await world.expectKilledAt(['after-role-create', 'after-secret-write', 'after-migrate']);
    await expectHubCondition(e2e.client, e2e.namespace, 'orders', { status: 'True' }, CONVERGE_MS);
    t.diagnostic(`3 kills; the hub was Ready ${Date.now() - killedAt} ms after the first`);
    await expectOneHub(e2e, 'orders', 'schema');

    const conn = await connectionOf(e2e.client, e2e.namespace, 'orders');
    hub = {
      name: 'orders',
      uri: conn.uri ?? '',
      schema: conn.schema ?? '',
      client: new TaskHubClient({ hubUrl: conn.uri, schema: conn.schema }),
    };
    audit = auditedHub(hub.uri, hub.schema);
    connected = true;
    await installAudit(audit);
  });

  it('rolls out v1 → v2 across kills after creating the Deployment, writing routing, scaling down and deleting: no duplicates, every instance once', async (t) => {
    const e2e = world.e2e;
    wd = await deployWorkers(e2e, hub, 'orders', {
      version: 'v1',
      replicas: 1,
      template: template('v1'),
      rollout: { strategy: 'Progressive', steps: [{ percent: 50, pause: '2s' }] },
      drain: { scaleDownDelay: '1s', deleteDelay: '1s' },
    });
    await expectWorkersReady(e2e, wd, 'v1', 1);
    await expectCurrentVersion(wd, 'v1');
    const pinned = await Promise.all(
      Array.from({ length: PINNED }, (_, i) => start('versionProbe', { timeoutMs: 600_000 }, `pinned-${i}`)),
    );
    await Promise.all(pinned.map((id) => hub.client.waitForOrchestrationStart(id, { timeoutMs: 30_000 })));

    // v2's Deployment is created, then the process dies before routing or status know; the next one dies right
    // after writing the 50 % ramp, before status records the step.
    world.arm('after-deployment-create', 'after-routing-write');
    await patchWd(wd, { version: 'v2', template: template('v2') });
    let killedAt = await world.expectKilledAt(['after-deployment-create']);
    // Starts while the operator is down go wherever routing says, and must finish like any other.
    const during = await Promise.all(Array.from({ length: 4 }, (_, i) => start('noop', undefined, `during-${i}`)));
    await world.expectKilledAt(['after-routing-write']);
    await expectCurrentVersion(wd, 'v2', CONVERGE_MS);
    await expectNewStartsGoTo(hub, 'v2');
    t.diagnostic(`2 kills mid-rollout; v2 was current ${Date.now() - killedAt} ms after the first`);
    await expectVersions(e2e, wd, ['v1', 'v2'], 'v2');
    assert.equal((await readVersion('v1'))?.state, 'Draining', 'v1 drains while its instances run');
    await expectWorkersReady(e2e, wd, 'v2', 1);
    const fresh = await Promise.all(Array.from({ length: 4 }, (_, i) => start('noop', undefined, `fresh-${i}`)));

    // The pinned instances finish; v1 drains, is scaled to zero (killed there), then deleted (killed there).
    world.arm('after-scale-down', 'after-deployment-delete');
    for (const id of pinned) {
      assert.equal(await hub.client.raiseEvent(id, 'go', 'now'), true);
      acked.push({ instanceId: id, name: 'go', input: '"now"' });
    }
    killedAt = await world.expectKilledAt(['after-scale-down', 'after-deployment-delete']);
    await expectStatus(
      wd,
      'only v2 left',
      (o) => (o.status?.versions ?? []).map((v) => v.version).join() === 'v2',
      CONVERGE_MS,
    );
    t.diagnostic(`2 kills in the drain; v1 was gone from status ${Date.now() - killedAt} ms after the first`);
    const final = await expectVersions(e2e, wd, ['v2'], 'v2');
    assert.equal(final.status?.conditions?.find((c) => c.type === 'Progressing')?.reason, 'RolloutComplete');

    // Every instance finished once, on its version.
    const states = await Promise.all(
      [...pinned, ...during, ...fresh].map((id) =>
        hub.client.waitForOrchestrationCompletion(id, { timeoutMs: 30_000 }),
      ),
    );
    assert.deepEqual(
      states.filter((s) => s.status !== 'Completed').map((s) => `${s.instanceId} ${s.status}`),
      [],
    );
    assert.deepEqual(
      states.filter((s) => s.instanceId.startsWith('pinned-') && s.version !== 'v1').map((s) => s.instanceId),
      [],
    );
    assert.deepEqual(
      states.filter((s) => s.instanceId.startsWith('fresh-') && s.version !== 'v2').map((s) => s.instanceId),
      [],
    );
    const report = await checkInvariants(audit, { ackedEvents: acked, expected });
    instancesChecked += report.instances;
    violations += report.violations.length;
    assert.equal(report.violations.length, 0, describeViolations(report));
    assert.equal(report.instances, expected.size);
  });

  it('deletes a hub (Delete) across kills after dropping the schema, the role and before the finalizer: nothing left', async (t) => {
    const e2e = world.e2e;
    await closeHub();
    // As `kubectl delete -f` of the app would: the WorkflowDeployment and the TaskHub together. This control plane
    // runs no garbage collector, so the test does its part: the worker Deployments owned by the deleted object.
    const owner = (await e2e.client.get(WORKFLOWDEPLOYMENTS, e2e.namespace, 'orders'))?.metadata?.uid;
    await e2e.client.delete(WORKFLOWDEPLOYMENTS, e2e.namespace, 'orders');
    await collectGarbage(owner ?? '');
    world.arm('after-drop-data', 'after-drop-role', 'before-finalizer-remove');
    await e2e.client.delete(TASKHUBS, e2e.namespace, 'orders');
    const killedAt = await world.expectKilledAt(['after-drop-data', 'after-drop-role', 'before-finalizer-remove']);
    await eventually('TaskHub orders gone', async () => ((await hubObject('orders')) ? undefined : true), {
      timeoutMs: CONVERGE_MS,
    });
    t.diagnostic(`3 kills; the TaskHub was gone ${Date.now() - killedAt} ms after the first`);
    await expectHubGone(e2e, 'orders', 'schema');
  });

  it('deletes a hub (Retain) across a kill before the finalizer: role, data and Secret kept, adopted by the next TaskHub', async (t) => {
    const e2e = world.e2e;
    await createTaskHub(e2e.client, e2e.namespace, 'ledger', {
      ...externalHub('pg-admin'),
      isolation: 'database',
      deletionPolicy: 'Retain',
    });
    await expectHubCondition(e2e.client, e2e.namespace, 'ledger', { status: 'True' }, CONVERGE_MS);
    await expectOneHub(e2e, 'ledger', 'database');
    const before = await connectionOf(e2e.client, e2e.namespace, 'ledger');
    const client = new TaskHubClient({ hubUrl: before.uri, schema: before.schema });
    await client.scheduleNewOrchestration('noop', undefined, { instanceId: 'kept-1' });
    await client.close();

    world.arm('before-finalizer-remove');
    await e2e.client.delete(TASKHUBS, e2e.namespace, 'ledger');
    const killedAt = await world.expectKilledAt(['before-finalizer-remove']);
    await eventually('TaskHub ledger gone', async () => ((await hubObject('ledger')) ? undefined : true), {
      timeoutMs: CONVERGE_MS,
    });
    t.diagnostic(`1 kill; the TaskHub was gone ${Date.now() - killedAt} ms after it`);
    await expectHubRetained(e2e, 'ledger', 'database');
    const kept = await asHub(before.uri ?? '', (c) =>
      c.query<{ id: string }>(`SELECT instance_id AS id FROM instances`),
    );
    assert.deepEqual(
      kept.rows.map((r) => r.id),
      ['kept-1'],
      'the data is intact and the password still works',
    );

    // A new TaskHub of the same name picks up role, database and Secret: still one of each, same password.
    await createTaskHub(e2e.client, e2e.namespace, 'ledger', {
      ...externalHub('pg-admin'),
      isolation: 'database',
      deletionPolicy: 'Delete',
    });
    await expectHubCondition(e2e.client, e2e.namespace, 'ledger', { status: 'True' }, CONVERGE_MS);
    await expectOneHub(e2e, 'ledger', 'database');
    assert.equal((await connectionOf(e2e.client, e2e.namespace, 'ledger')).password, before.password);
    await e2e.client.delete(TASKHUBS, e2e.namespace, 'ledger');
    await eventually('TaskHub ledger gone', async () => ((await hubObject('ledger')) ? undefined : true), {
      timeoutMs: CONVERGE_MS,
    });
    await expectHubGone(e2e, 'ledger', 'database');
    assert.equal(namesOf(e2e, 'ledger', 'database').database, before.database);
  });

  it('died only where it was told to: every restart of the operator is one of the kills', () => {
    const restarts = world.operator().restarts;
    assert.equal(
      restarts,
      killCount(world),
      `the operator restarted ${restarts} times for ${killCount(world)} kills:\n${world.operatorLog().slice(-3000)}`,
    );
  });
});

async function patchWd(ref: WdRef, spec: Partial<WorkflowDeploymentSpec>): Promise<void> {
  await ref.client.patch(WORKFLOWDEPLOYMENTS, ref.namespace, ref.name, 'merge', { spec });
}

async function readVersion(version: string) {
  const obj = await expectStatus(wd, `status lists ${version}`, (o) =>
    (o.status?.versions ?? []).some((v) => v.version === version),
  );
  return obj.status?.versions?.find((v) => v.version === version);
}

function hubObject(name: string) {
  return world.e2e.client.get(TASKHUBS, world.e2e.namespace, name);
}

/** What the garbage collector would do: delete the Deployments owned by `uid`. */
async function collectGarbage(uid: string): Promise<void> {
  const e2e = world.e2e;
  const list = await e2e.client.list(DEPLOYMENTS, e2e.namespace);
  for (const d of list.items) {
    if (d.metadata?.ownerReferences?.some((r) => r.uid === uid))
      await e2e.client.delete(DEPLOYMENTS, e2e.namespace, d.metadata.name ?? '');
  }
}
