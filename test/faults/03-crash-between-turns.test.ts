/**
 * Scenario 3: a worker crashes after an activity's result was committed to the orchestration's inbox
 * and before the orchestration's next turn committed. The result stays in the inbox until a turn
 * that consumes it commits, so the next worker replays that turn: nothing is scheduled twice, the
 * finished activity is not run again, and nothing is lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  count,
  deliveriesOf,
  expectInvariants,
  historyKinds,
  holdLock,
  LEASE_MS,
  until,
  waitForBlocked,
  withFaultHub,
  type FaultHub,
} from './harness.ts';

async function resultsWaiting(hub: FaultHub, instanceId: string): Promise<number> {
  const r = await hub.sql<{ n: string }>(
    `SELECT count(*) AS n FROM ${hub.S}.inbox WHERE instance_id = $1 AND event LIKE '%"TaskCompleted"%'`,
    [instanceId],
  );
  return Number(r.rows[0]?.n ?? 0);
}

test("SIGKILL after a step's result was committed and before the turn consuming it commits: the next step is scheduled once", async () => {
  await withFaultHub(async (hub, workers) => {
    const victim = await workers.spawn({ label: 'victim' });
    const id = await hub.client.scheduleNewOrchestration('chain', { key: 'order', steps: 2, holdMs: 400 });
    await until('step 0 to run', () => deliveriesOf(hub, 'order/0').length === 1);
    // The result of step 0 goes to the inbox (no history written); the turn consuming it blocks on this.
    const lock = await holdLock(hub, `LOCK TABLE S.history IN SHARE MODE`);
    await waitForBlocked(hub, victim.id, /INSERT INTO .*history/);
    assert.equal(await resultsWaiting(hub, id), 1, 'the result of step 0 is committed and waiting');

    const killedAt = await workers.killAndReplace(victim, lock);
    const done = await hub.client.waitForOrchestrationCompletion(id, { timeoutMs: 20_000 });
    const recoveredMs = Date.now() - killedAt;

    assert.deepEqual(done.output, ['order/0', 'order/1']);
    assert.deepEqual(
      deliveriesOf(hub, 'order/0').map((d) => d.delivery),
      [1],
      'the finished step did not run again',
    );
    assert.deepEqual(
      deliveriesOf(hub, 'order/1').map((d) => d.delivery),
      [1],
      'the next step ran once',
    );
    const kinds = await historyKinds(hub, id);
    assert.equal(count(kinds, 'TaskScheduled'), 2, 'step 1 was scheduled once, by the survivor');
    assert.equal(count(kinds, 'TaskCompleted'), 2);
    await expectInvariants(hub, {
      test: 'scenario 3a: crash before the next turn (chain)',
      faults: { sigkill: 1, 'lock-stall': 1 },
      recoveriesMs: [recoveredMs],
      leaseMs: LEASE_MS,
    });
  });
});

test("SIGKILL while a fan-out's results are being consumed, with a sub-orchestration waiting on it: every branch completes once", async () => {
  await withFaultHub(async (hub, workers) => {
    const victim = await workers.spawn({ label: 'victim' });
    const fan = await hub.client.scheduleNewOrchestration('fanOut', { key: 'fan', width: 4, holdMs: 400 });
    const tree = await hub.client.scheduleNewOrchestration('parent', { key: 'tree', children: 2, steps: 1 });
    await until('every branch and child step to run', () =>
      ['fan/0', 'fan/1', 'fan/2', 'fan/3', 'tree/c0/0', 'tree/c1/0'].every((k) => deliveriesOf(hub, k).length === 1),
    );
    const lock = await holdLock(hub, `LOCK TABLE S.history IN SHARE MODE`);
    await waitForBlocked(hub, victim.id, /INSERT INTO .*history/);
    await until("the branches' results to be committed", async () => (await resultsWaiting(hub, fan)) >= 1);

    await workers.killAndReplace(victim, lock);
    const fanDone = await hub.client.waitForOrchestrationCompletion(fan, { timeoutMs: 20_000 });
    const treeDone = await hub.client.waitForOrchestrationCompletion(tree, { timeoutMs: 20_000 });

    assert.deepEqual(fanDone.output, ['fan/0', 'fan/1', 'fan/2', 'fan/3']);
    assert.deepEqual(treeDone.output, [['tree/c0/0'], ['tree/c1/0']]);
    for (const k of ['fan/0', 'fan/1', 'fan/2', 'fan/3', 'tree/c0/0', 'tree/c1/0']) {
      const runs = deliveriesOf(hub, k);
      // A branch whose lease was held by the victim when it died may run again; one that had finished may not.
      assert.ok(runs.length >= 1 && runs.length <= 2, `${k} ran ${runs.length} times`);
    }
    assert.equal(count(await historyKinds(hub, fan), 'TaskScheduled'), 4);
    assert.equal(count(await historyKinds(hub, tree), 'SubOrchestrationInstanceCreated'), 2);
    await expectInvariants(hub, {
      test: 'scenario 3b: crash before the next turn (fan-out, sub-orchestrations)',
      faults: { sigkill: 1, 'lock-stall': 1 },
    });
  });
});
