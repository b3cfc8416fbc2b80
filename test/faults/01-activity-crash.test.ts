/**
 * Scenario 1: a worker is SIGKILLed during an activity, after the activity's side effect and before
 * its completion commits. Activities run at least once: the task is re-delivered once the lease
 * expires, its delivery count says it is a re-run, and the orchestration records exactly one result.
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
} from './harness.ts';

test('SIGKILL while the activity runs, after its side effect: it runs again after the lease expires and the orchestration records one result', async () => {
  await withFaultHub(async (hub, workers) => {
    const victim = await workers.spawn({ label: 'victim' });
    const id = await hub.client.scheduleNewOrchestration('chain', { key: 'charge', steps: 1, holdFirstMs: 60_000 });
    await until('the side effect of the first delivery', () => deliveriesOf(hub, 'charge/0').length === 1);

    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    await victim.exited;
    await workers.start('survivor');
    const done = await hub.client.waitForOrchestrationCompletion(id, { timeoutMs: 20_000 });
    const recoveredMs = Date.now() - killedAt;

    assert.equal(done.status, 'Completed');
    assert.deepEqual(done.output, ['charge/0']);
    const runs = deliveriesOf(hub, 'charge/0');
    assert.deepEqual(
      runs.map((r) => r.delivery),
      [1, 2],
      'the activity ran again, and its delivery count shows it',
    );
    assert.equal(runs[0]?.worker, 'v1/victim');
    assert.notEqual(runs[1]?.worker, 'v1/victim', 'the re-run happened on the survivor');
    const kinds = await historyKinds(hub, id);
    assert.equal(count(kinds, 'TaskScheduled'), 1);
    assert.equal(count(kinds, 'TaskCompleted'), 1, 'one result, not one per run');
    assert.ok(recoveredMs >= LEASE_MS - 200, `the task waited for the lease to expire (${recoveredMs} ms)`);
    process.stdout.write(`# recovered ${recoveredMs} ms after SIGKILL (lease ${LEASE_MS} ms)\n`);
    await expectInvariants(hub, {
      test: 'scenario 1a: kill during activity',
      faults: { sigkill: 1 },
      recoveriesMs: [recoveredMs],
      leaseMs: LEASE_MS,
    });
  });
});

test('SIGKILL while the completion commit is in flight: the result never lands, the task is re-run once, one result is recorded', async () => {
  await withFaultHub(async (hub, workers) => {
    const victim = await workers.spawn({ label: 'victim' });
    const id = await hub.client.scheduleNewOrchestration('chain', { key: 'ship', steps: 2, holdFirstMs: 700 });
    await until('the side effect of the first delivery', () => deliveriesOf(hub, 'ship/0').length === 1);
    // Hold the task's row: the worker's completion (DELETE … RETURNING, then COMMIT) blocks on it.
    const lock = await holdLock(hub, `SELECT 1 FROM S.activity_tasks FOR UPDATE`);
    await waitForBlocked(hub, victim.id, /DELETE FROM .*activity_tasks/);

    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    await victim.exited;
    await lock.release();
    await workers.start('survivor');
    const done = await hub.client.waitForOrchestrationCompletion(id, { timeoutMs: 20_000 });
    const recoveredMs = Date.now() - killedAt;

    assert.deepEqual(done.output, ['ship/0', 'ship/1']);
    assert.deepEqual(
      deliveriesOf(hub, 'ship/0').map((r) => r.delivery),
      [1, 2],
      'the uncommitted completion was redone by a second delivery',
    );
    assert.deepEqual(
      deliveriesOf(hub, 'ship/1').map((r) => r.delivery),
      [1],
      'the next step ran once',
    );
    const kinds = await historyKinds(hub, id);
    assert.equal(count(kinds, 'TaskScheduled'), 2);
    assert.equal(count(kinds, 'TaskCompleted'), 2);
    const attempts = await hub.sql<{ delivery_count: number }>(
      `SELECT delivery_count FROM ${hub.S}.audit_activities WHERE name = 'effect' ORDER BY task_id`,
    );
    assert.deepEqual(
      attempts.rows.map((r) => r.delivery_count),
      [2, 1],
      'the store counted the re-delivery',
    );
    await expectInvariants(hub, {
      test: 'scenario 1b: kill during completion commit',
      faults: { sigkill: 1, 'lock-stall': 1 },
      recoveriesMs: [recoveredMs],
      leaseMs: LEASE_MS,
    });
  });
});
