/**
 * Scenario 7: work that can never succeed must end, with the reason recorded, instead of looping.
 * - An activity that always throws: its retry policy runs it `maxAttempts` times, then the instance
 *   fails with the activity's error in its failure details, and nothing more is scheduled.
 * - An inbox message that cannot be read (corrupt JSON, or JSON that is no history event): it is
 *   moved to the `dead_letters` table with the reason, and its instance fails naming it. Instances
 *   claimed in the same batch are not held up.
 * - A history row that cannot be read: the instance fails naming it; the rest of the hub carries on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  count,
  deliveriesOf,
  expectAlive,
  expectInvariants,
  historyKinds,
  sleep,
  waitAll,
  withFaultHub,
  type FaultHub,
} from './harness.ts';
import type { Expectation } from './invariants.ts';

test('an activity that always throws fails its instance after the configured attempts, with the error recorded, and stops', async () => {
  await withFaultHub(async (hub, workers) => {
    await workers.start('w');
    const id = await hub.client.scheduleNewOrchestration(
      'doomed',
      { key: 'never', attempts: 3 },
      { instanceId: 'doomed' },
    );
    const done = await hub.client.waitForOrchestrationCompletion(id, { timeoutMs: 15_000 });
    assert.equal(done.status, 'Failed');
    assert.match(
      done.failure?.message ?? '',
      /effect 'never' failed on delivery 1/,
      "the reason is the activity's own error",
    );
    let cause = done.failure;
    while (cause?.cause) cause = cause.cause;
    assert.equal(cause?.errorType, 'RangeError');
    const kinds = await historyKinds(hub, id);
    assert.equal(count(kinds, 'TaskScheduled'), 3, 'three attempts');
    assert.equal(count(kinds, 'TaskFailed'), 3);
    assert.equal(count(kinds, 'TimerCreated'), 2, 'a durable wait between attempts');
    await sleep(1000);
    assert.equal(deliveriesOf(hub, 'never').length, 3, 'no attempt after the instance failed');
    await expectInvariants(hub, { test: 'scenario 7a: activity always throws', faults: { 'failing-activity': 3 } });
  });
});

/** Puts a raw inbox row for `instanceId` and makes it claimable, as a bug or a hand edit might. */
async function poison(hub: FaultHub, instanceId: string, text: string): Promise<void> {
  await hub.sql(`INSERT INTO ${hub.S}.inbox (instance_id, event) VALUES ($1, $2)`, [instanceId, text]);
  await hub.sql(`UPDATE ${hub.S}.instances SET next_visible_at = now() WHERE instance_id = $1`, [instanceId]);
}

test('unreadable inbox messages are parked in dead_letters and fail their instances with the reason; the others carry on', async () => {
  await withFaultHub(async (hub, workers) => {
    const worker = await workers.spawn({ label: 'w' });
    const victims = {
      broken: '{"kind":"EventRaised","name":"go","inp',
      'not-an-event': '{"hello":"world"}',
      'null-event': 'null',
    };
    for (const id of Object.keys(victims))
      await hub.client.scheduleNewOrchestration('events', { key: id, names: ['go'] }, { instanceId: id });
    for (const id of Object.keys(victims)) await hub.client.waitForOrchestrationStart(id);
    const expected = new Map<string, Expectation>();
    for (const [id, text] of Object.entries(victims)) {
      await poison(hub, id, text);
      // Bystanders become due at the same moment, so they are claimed in the same batches as the victims.
      const bystander = await hub.client.scheduleNewOrchestration(
        'chain',
        { key: `by-${id}`, steps: 2 },
        { instanceId: `by-${id}` },
      );
      expected.set(bystander, { status: 'Completed', output: [`by-${id}/0`, `by-${id}/1`] });
      expected.set(id, { status: 'Failed' });
    }
    await waitAll(hub, workers, expected.keys(), 15_000);

    for (const id of Object.keys(victims)) {
      const s = await hub.client.getOrchestrationState(id);
      assert.equal(s?.status, 'Failed', id);
      assert.equal(s?.failure?.errorType, 'UnreadableMessageError', id);
      assert.match(s?.failure?.message ?? '', /dead_letters/, `${id}: the failure says where the message went`);
    }
    const parked = await hub.sql<{ instance_id: string; event: string; reason: string }>(
      `SELECT instance_id, event, reason FROM ${hub.S}.dead_letters ORDER BY instance_id`,
    );
    assert.deepEqual(
      parked.rows.map((r) => [r.instance_id, r.event]),
      Object.entries(victims).sort(([a], [b]) => a.localeCompare(b)),
      'each unreadable message is kept, byte for byte, for inspection',
    );
    assert.match(parked.rows.find((r) => r.instance_id === 'broken')?.reason ?? '', /JSON/);
    assert.match(parked.rows.find((r) => r.instance_id === 'not-an-event')?.reason ?? '', /kind/);

    await sleep(1000);
    const again = await hub.sql<{ n: string }>(`SELECT count(*) AS n FROM ${hub.S}.dead_letters`);
    assert.equal(Number(again.rows[0]?.n), 3, 'nothing is parked twice: no loop');
    expectAlive(workers);
    assert.ok(!/orchestration loop failed/.test(worker.log()), 'the worker loop never failed on them');
    await expectInvariants(
      hub,
      { test: 'scenario 7b: unreadable messages', faults: { 'corrupt-message': 3 } },
      { expected },
    );
  });
});

test('an unreadable history row fails its instance naming the row, without holding up other instances', async () => {
  await withFaultHub(async (hub, workers) => {
    const first = await workers.start('first');
    const id = await hub.client.scheduleNewOrchestration(
      'events',
      { key: 'h', names: ['go'] },
      { instanceId: 'scarred' },
    );
    await hub.client.waitForOrchestrationStart(id);
    await first.stop(); // so no worker holds the instance's history in memory
    await hub.sql(
      `UPDATE ${hub.S}.history SET event = '{"kind":"ExecutionStarted",' WHERE instance_id = $1 AND kind = 'ExecutionStarted'`,
      [id],
    );
    const worker = await workers.spawn({ label: 'second' });
    await hub.client.raiseEvent(id, 'go', 1);
    const bystander = await hub.client.scheduleNewOrchestration('chain', { key: 'by', steps: 2 }, { instanceId: 'by' });
    await waitAll(hub, workers, [id, bystander], 15_000);
    const s = await hub.client.getOrchestrationState(id);
    assert.equal(s?.status, 'Failed');
    assert.equal(s?.failure?.errorType, 'UnreadableMessageError');
    assert.match(s?.failure?.message ?? '', /history event 1/);
    assert.deepEqual((await hub.client.getOrchestrationState(bystander))?.output, ['by/0', 'by/1']);
    expectAlive(workers);
    assert.ok(!/orchestration loop failed/.test(worker.log()), 'the worker loop never failed on it');
    // The invariants read the audit, which kept the row as it was written: the damage was done
    // behind the engine's back.
    await expectInvariants(hub, { test: 'scenario 7c: unreadable history', faults: { 'corrupt-history': 1 } });
  });
});
