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

    const killedAt = await workers.killAndReplace(victim);
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

test('SIGKILL while the completion statement waits at the server: the server finishes it, one result lands, nothing is re-run', async () => {
  await withFaultHub(async (hub, workers) => {
    const victim = await workers.spawn({ label: 'victim' });
    const id = await hub.client.scheduleNewOrchestration('chain', { key: 'ship', steps: 2, holdFirstMs: 700 });
    await until('the side effect of the first delivery', () => deliveriesOf(hub, 'ship/0').length === 1);
    // Hold the task's row: the worker's completion (one autocommitted statement) blocks on it.
    const lock = await holdLock(hub, `SELECT 1 FROM S.activity_tasks FOR UPDATE`);
    await waitForBlocked(hub, victim.id, /DELETE FROM .*activity_tasks/);

    // The statement is already at the server, which does not look at the dead client while it waits
    // for a lock: once the lock goes, the statement runs and commits, as if the worker had died just
    // after its commit. The result is recorded once and the task is gone, so nobody re-runs it.
    const killedAt = await workers.killAndReplace(victim, lock);
    const done = await hub.client.waitForOrchestrationCompletion(id, { timeoutMs: 20_000 });
    const recoveredMs = Date.now() - killedAt;

    assert.deepEqual(done.output, ['ship/0', 'ship/1']);
    assert.deepEqual(
      deliveriesOf(hub, 'ship/0').map((r) => r.delivery),
      [1],
      'the completion the dead worker had sent was recorded; the activity did not run again',
    );
    assert.deepEqual(
      deliveriesOf(hub, 'ship/1').map((r) => r.delivery),
      [1],
      'the next step ran once',
    );
    const kinds = await historyKinds(hub, id);
    assert.equal(count(kinds, 'TaskScheduled'), 2);
    assert.equal(count(kinds, 'TaskCompleted'), 2);
    await expectInvariants(hub, {
      test: 'scenario 1b: kill while the completion waits at the server',
      faults: { sigkill: 1, 'lock-stall': 1 },
      recoveriesMs: [recoveredMs],
      leaseMs: LEASE_MS,
    });
  });
});

test('the completion cut off before it commits: nothing lands, the task is re-run once after the lease, one result is recorded', async () => {
  await withFaultHub(async (hub, workers) => {
    const worker = await workers.spawn({ label: 'cut' });
    const id = await hub.client.scheduleNewOrchestration('chain', { key: 'pack', steps: 2, holdFirstMs: 700 });
    await until('the side effect of the first delivery', () => deliveriesOf(hub, 'pack/0').length === 1);
    const lock = await holdLock(hub, `SELECT 1 FROM S.activity_tasks FOR UPDATE`);
    await waitForBlocked(hub, worker.id, /DELETE FROM .*activity_tasks/);
    // End the waiting statement's session: its transaction rolls back, so the result never lands.
    const cut = await hub.sql<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
        WHERE application_name = $1 AND wait_event_type = 'Lock' AND query ~ 'DELETE FROM .*activity_tasks'`,
      [worker.id],
    );
    assert.deepEqual(
      cut.rows.map((r) => r.ok),
      [true],
      'the completion statement was ended',
    );
    const cutAt = Date.now();
    await lock.release();
    const done = await hub.client.waitForOrchestrationCompletion(id, { timeoutMs: 20_000 });
    const recoveredMs = Date.now() - cutAt;

    assert.deepEqual(done.output, ['pack/0', 'pack/1']);
    assert.deepEqual(
      deliveriesOf(hub, 'pack/0').map((r) => r.delivery),
      [1, 2],
      'the lost completion was redone by a second delivery',
    );
    assert.deepEqual(
      deliveriesOf(hub, 'pack/1').map((r) => r.delivery),
      [1],
      'the next step ran once',
    );
    const kinds = await historyKinds(hub, id);
    assert.equal(count(kinds, 'TaskScheduled'), 2);
    assert.equal(count(kinds, 'TaskCompleted'), 2, 'one result per task, however many runs');
    const attempts = await hub.sql<{ delivery_count: number }>(
      `SELECT delivery_count FROM ${hub.S}.audit_activities WHERE name = 'effect' ORDER BY task_id`,
    );
    assert.deepEqual(
      attempts.rows.map((r) => r.delivery_count),
      [2, 1],
      'the store counted the re-delivery',
    );
    assert.ok(recoveredMs >= LEASE_MS - 200, `the task waited for the lease to expire (${recoveredMs} ms)`);
    await expectInvariants(hub, {
      test: 'scenario 1c: completion cut before it commits',
      faults: { 'connection-kill': 1, 'lock-stall': 1 },
      recoveriesMs: [],
      leaseMs: LEASE_MS,
    });
  });
});
