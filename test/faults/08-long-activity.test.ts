/**
 * Scenario 8: an activity that runs longer than the lease. Its worker renews the lease while it
 * runs (every third of the lease), so no other worker takes it over and it runs exactly once, even
 * when the worker's database connections are killed in the middle of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  deliveriesOf,
  expectAlive,
  expectInvariants,
  LEASE_MS,
  sleep,
  until,
  withFaultHub,
  type FaultHub,
} from './harness.ts';

/** Kills every connection a worker holds; returns how many. */
async function killConnections(hub: FaultHub, workerId: string): Promise<number> {
  const r = await hub.sql<{ n: string }>(
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = $1`,
    [workerId],
  );
  return Number(r.rows[0]?.n ?? 0);
}

test('an activity four times longer than the lease keeps its lease and runs once, even with its connections killed meanwhile', async () => {
  await withFaultHub(async (hub, workers) => {
    const a = await workers.spawn({ label: 'a' });
    const b = await workers.spawn({ label: 'b' });
    const holdMs = LEASE_MS * 4;
    const id = await hub.client.scheduleNewOrchestration('chain', { key: 'slow', steps: 1, holdMs });
    await until('the activity to start', () => deliveriesOf(hub, 'slow/0').length === 1);
    const runner = deliveriesOf(hub, 'slow/0')[0]?.worker === a.id ? a : b;
    let killed = 0;
    for (let i = 0; i < 3; i++) {
      await sleep(LEASE_MS);
      killed += await killConnections(hub, runner.id);
    }
    const done = await hub.client.waitForOrchestrationCompletion(id, { timeoutMs: 20_000 });
    assert.deepEqual(done.output, ['slow/0']);
    assert.deepEqual(
      deliveriesOf(hub, 'slow/0').map((d) => [d.worker, d.delivery]),
      [[runner.id, 1]],
      'one run, on one worker, never re-delivered',
    );
    assert.ok(!/lease lost/.test(a.log() + b.log()), 'no worker lost a lease');
    expectAlive(workers);
    await expectInvariants(hub, {
      test: 'scenario 8: activity longer than the lease',
      faults: { 'long-activity': 1, 'connection-kill': killed },
    });
  });
});
