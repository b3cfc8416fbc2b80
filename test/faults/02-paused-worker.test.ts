/**
 * Scenario 2: a worker paused (SIGSTOP) past its lease, then resumed. Whatever it was doing, its
 * writes are refused once it wakes: another worker has taken the work over, and history holds no
 * duplicate. Two places to be paused: in the middle of an activity, and in the middle of an
 * orchestration turn's commit transaction, holding row locks.
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
  sleep,
  stopChild,
  until,
  waitForBlocked,
  withFaultHub,
} from './harness.ts';

test("paused during an activity past its lease: the survivor re-runs it, and the woken worker's result is refused", async () => {
  await withFaultHub(async (hub, workers) => {
    const victim = await workers.spawn({ label: 'sleeper' });
    const id = await hub.client.scheduleNewOrchestration('chain', { key: 'pay', steps: 1, holdFirstMs: 1000 });
    await until('the first delivery', () => deliveriesOf(hub, 'pay/0').length === 1);
    victim.child.kill('SIGSTOP');
    await sleep(LEASE_MS + 500);
    await workers.start('survivor');
    const done = await hub.client.waitForOrchestrationCompletion(id, { timeoutMs: 20_000 });
    assert.deepEqual(done.output, ['pay/0']);

    victim.child.kill('SIGCONT');
    await until('the woken worker to notice it lost the lease', () => /lease lost/.test(victim.log()), 10_000);
    assert.equal(count(await historyKinds(hub, id), 'TaskCompleted'), 1, 'the stale result was not recorded');
    assert.equal(await stopChild(victim), 0, 'the woken worker still drains and exits cleanly');
    await expectInvariants(hub, { test: 'scenario 2a: paused during activity', faults: { sigstop: 1 } });
  });
});

test("paused inside a turn's commit transaction past its lease: the instance does not wait for it, and its commit is refused when it wakes", async () => {
  await withFaultHub(async (hub, workers) => {
    const victim = await workers.spawn({ label: 'sleeper' });
    // Stall the victim's commit right after it locked the instance row and began writing history.
    const lock = await holdLock(hub, `LOCK TABLE S.history IN SHARE MODE`);
    const id = await hub.client.scheduleNewOrchestration('chain', { key: 'pack', steps: 2 });
    await waitForBlocked(hub, victim.id, /INSERT INTO .*history/);
    victim.child.kill('SIGSTOP');
    const pausedAt = Date.now();
    await lock.release();

    await sleep(LEASE_MS + 300);
    await workers.start('survivor');
    const done = await hub.client.waitForOrchestrationCompletion(id, { timeoutMs: 15_000 });
    const tookOverMs = Date.now() - pausedAt;
    assert.deepEqual(
      done.output,
      ['pack/0', 'pack/1'],
      'the survivor finished the instance while the victim was still paused',
    );

    victim.child.kill('SIGCONT');
    await until(
      'the woken worker to report its refused commit',
      () => /failed; retrying|lease lost/i.test(victim.log()),
      10_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; it printed:\n${victim.log()}`);
    });
    const kinds = await historyKinds(hub, id);
    assert.equal(count(kinds, 'ExecutionStarted'), 1);
    assert.equal(count(kinds, 'TaskScheduled'), 2, 'nothing was scheduled twice');
    assert.equal(count(kinds, 'ExecutionCompleted'), 1);
    assert.deepEqual(
      deliveriesOf(hub, 'pack/0').map((d) => d.delivery),
      [1],
    );
    process.stdout.write(
      `# a worker paused inside a commit held the instance for ${tookOverMs} ms (lease ${LEASE_MS} ms)\n`,
    );
    await expectInvariants(hub, {
      test: 'scenario 2b: paused inside a commit',
      faults: { sigstop: 1, 'lock-stall': 1 },
    });
  });
});
