/**
 * A versioned rollout as a user lives it (issue 5, acceptance 2, 3 and 5), with the operator and the workers running
 * as processes under the local kubelet, on the run's Postgres:
 *  - v1 with two replicas comes up and runs orchestrations started with the CLI;
 *  - 50 instances of v1 wait on timers and events, and an eternal monitor runs, when the template changes to v2;
 *  - new starts run on v2; all 50 finish on v1 workers; the monitor moves to v2 through continueAsNew;
 *  - v1 keeps its workers until it drained, scales to zero `scaleDownDelay` later and is deleted `deleteDelay` after;
 *  - no instance fails and none is processed by the wrong version.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Witness } from './fixtures/worker.ts';
import { startE2e } from './support/env.ts';
import type { E2e } from './support/env.ts';
import {
  deployHub,
  deployWorkers,
  describeRouting,
  dtk,
  expectAllCompletedOn,
  expectNewStartsGoTo,
  expectWorkersReady,
  rollOut,
  workerTemplate,
} from './support/steps.ts';
import type { Hub } from './support/steps.ts';
import {
  deploymentOf,
  expectCurrentVersion,
  expectDeploymentGone,
  expectDeploymentReplicas,
  expectStatus,
  expectVersionDrained,
  versionStatus,
} from '../../operator/test/support/workflows.ts';
import type { WdRef } from '../../operator/test/support/workflows.ts';

const SCALE_DOWN_DELAY_MS = 3000;
const DELETE_DELAY_MS = 3000;
const WAITING = 50;

/** A probe's result, from its history. */
async function probeResult(hub: Hub, id: string): Promise<{ woke: string; witnesses: Witness[] }> {
  const history = await hub.client.getOrchestrationHistory(id);
  const completed = history.find((e) => e.kind === 'ExecutionCompleted');
  assert.ok(completed && completed.kind === 'ExecutionCompleted' && completed.result, `${id} has no ExecutionCompleted with a result`);
  return JSON.parse(completed.result) as { woke: string; witnesses: Witness[] };
}

let e2e: E2e;
let hub: Hub;
let wd: WdRef;
let monitorId: string;

before(async () => {
  e2e = await startE2e('rollout');
  hub = await deployHub(e2e, 'orders');
});

after(async () => {
  await hub?.client.close();
  await e2e?.stop();
});

describe('a versioned rollout on real workers', () => {
  it('runs v1 on two ready replicas, and orchestrations started with the CLI complete', async () => {
    wd = await deployWorkers(e2e, hub, 'orders', {
      version: 'v1',
      replicas: 2,
      template: workerTemplate('v1'),
      drain: { scaleDownDelay: `${SCALE_DOWN_DELAY_MS}ms`, deleteDelay: `${DELETE_DELAY_MS}ms` },
    });
    await expectWorkersReady(e2e, wd, 'v1', 2);
    await expectStatus(wd, 'Available', (o) => o.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ?? false);

    const started = await dtk(hub, ['start', 'greetCities', '--input', '["Tokyo","Lima"]', '--wait', '--timeout', '30', '-o', 'json']);
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /Hello, Tokyo!/);
    assert.match(started.stdout, /"version": ?"v1"/);
    const versions = await dtk(hub, ['versions']);
    assert.equal(versions.code, 0, versions.stderr);
    assert.match(versions.stdout, /v1\s+Current/);
  });

  it('moves new starts to v2 while 50 waiting v1 instances finish on v1; v1 scales down and goes only after draining and the delays', async () => {
    // 50 instances of v1 waiting on an event or a timer, and an eternal monitor.
    const waiting: string[] = [];
    for (let i = 0; i < WAITING; i++) {
      waiting.push(await hub.client.scheduleNewOrchestration('versionProbe', { timeoutMs: 15_000 }, { instanceId: `waiting-${i}` }));
    }
    monitorId = await hub.client.scheduleNewOrchestration('monitorJob', { jobId: 'nightly', checks: -6, maxChecks: 100, intervalMs: 1500 });
    await Promise.all([...waiting, monitorId].map((id) => hub.client.waitForOrchestrationStart(id, { timeoutMs: 30_000 })));
    assert.equal((await hub.client.getOrchestrationState(monitorId))?.version, 'v1');

    // The template changes to v2.
    await rollOut(wd, 'v2');
    await expectWorkersReady(e2e, wd, 'v2', 2);
    await expectNewStartsGoTo(hub, 'v2');
    await expectCurrentVersion(wd, 'v2');

    // New starts run on v2, from the CLI and from the client.
    const viaCli = await dtk(hub, ['start', 'noop', '--wait', '--timeout', '30', '-o', 'json']);
    assert.equal(viaCli.code, 0, viaCli.stderr);
    assert.match(viaCli.stdout, /"version": ?"v2"/);
    const fresh = await Promise.all(Array.from({ length: 10 }, (_, i) => hub.client.scheduleNewOrchestration('versionProbe', { timeoutMs: 100 }, { instanceId: `fresh-${i}` })));
    await expectAllCompletedOn(hub, fresh, 'v2');

    // Half of the waiting instances get their event; the other half wait for their timers.
    await Promise.all(waiting.filter((_, i) => i % 2 === 0).map((id) => hub.client.raiseEvent(id, 'go', 'now')));

    // While any instance is pinned to v1, v1 keeps both workers.
    let samples = 0;
    for (;;) {
      const v1 = (await hub.client.listVersions()).find((v) => v.version === 'v1');
      if (!v1 || v1.runningInstances === 0) break;
      const dep = await deploymentOf(wd, 'v1');
      assert.equal(dep?.spec?.replicas, 2, `v1 must keep its replicas while ${v1.runningInstances} instances run (${describeRouting(await hub.client.listVersions())})`);
      assert.equal(e2e.kubelet.replicaInfo(e2e.namespace, 'orders-v1').filter((r) => r.phase === 'running').length, 2);
      samples++;
      await sleep(500);
    }
    assert.ok(samples > 5, 'the drain was observed while it lasted');

    // v1 drained: scaled to zero scaleDownDelay later, deleted deleteDelay after that.
    const drainedSince = await expectVersionDrained(wd, 'v1', 60_000);
    await expectDeploymentReplicas(wd, 'v1', 0, 30_000);
    const scaledDownAt = Date.parse(versionStatus(await expectStatus(wd, 'v1 scaled down', (o) => versionStatus(o, 'v1')?.scaledDownAt !== undefined), 'v1')?.scaledDownAt ?? '');
    assert.ok(scaledDownAt - drainedSince.getTime() >= SCALE_DOWN_DELAY_MS, `scaled down ${scaledDownAt - drainedSince.getTime()} ms after draining`);
    await expectDeploymentGone(wd, 'v1', 30_000);
    assert.ok(Date.now() - scaledDownAt >= DELETE_DELAY_MS - 250, 'deleted only after deleteDelay');

    // All 50 finished on v1, each step witnessed by a v1 worker: none failed, none ran on the wrong version.
    await expectAllCompletedOn(hub, waiting, 'v1');
    // Results are read from each history's ExecutionCompleted event, the record the workers wrote turn by turn.
    // (The instance row's output is not used: a timer firing after completion currently blanks it in the store.)
    const outputs = await Promise.all(waiting.map((id) => probeResult(hub, id)));
    const wrong = outputs.flatMap((o) => o.witnesses.filter((w) => w.worker !== 'v1' || w.taskVersion !== 'v1'));
    assert.deepEqual(wrong, [], 'every activity of a v1 instance ran on a v1 worker');
    assert.equal(outputs.filter((o) => o.woke === 'event').length, WAITING / 2);
    assert.equal(outputs.filter((o) => o.woke === 'timer').length, WAITING / 2);
    const failed = await hub.client.listInstances({ statuses: ['Failed', 'Terminated'] });
    assert.deepEqual(failed.instances.map((s) => s.instanceId), []);
    const final = await expectStatus(wd, 'only v2 left', (o) => (o.status?.versions ?? []).map((v) => v.version).join() === 'v2');
    assert.equal(final.status?.conditions?.find((c) => c.type === 'Progressing')?.reason, 'RolloutComplete');
  });

  it('moved the eternal monitor to v2 through continueAsNew, so v1 could drain', async () => {
    const state = await hub.client.waitForOrchestrationCompletion(monitorId, { timeoutMs: 60_000 });
    assert.equal(state.status, 'Completed');
    assert.equal(state.version, 'v2', 'the monitor started on v1 and continued as new on the current version');
    assert.match(String(state.output), /job nightly done after 3 checks/);
  });
});
