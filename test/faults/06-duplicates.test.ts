/**
 * Scenario 6: the same request twice. Clients retry, users double-click, two replicas of a service
 * handle the same message. The outcomes are defined (and listed in docs/reliability.md):
 * - an event raised again with the same idempotency key is a no-op that returns false, whenever the
 *   retry comes (racing the first, after delivery, after the instance finished); without a key every
 *   raise is a new event;
 * - starting an instance id that exists fails with DTK_INSTANCE_EXISTS and leaves the first untouched;
 *   of concurrent starts exactly one wins; `reuseIfFinished` replaces only a finished instance, once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TaskHubClient } from '../../worker/src/client/task-hub-client.ts';
import { InstanceAlreadyExistsError } from '../../worker/src/errors.ts';
import { count, expectInvariants, historyKinds, sleep, withFaultHub } from './harness.ts';
import type { AckedEvent } from './invariants.ts';

const exists = (err: unknown) => err instanceof InstanceAlreadyExistsError && err.code === 'DTK_INSTANCE_EXISTS';

test('an event raised again with the same idempotency key is delivered once, even racing or after the instance finished', async () => {
  await withFaultHub(async (hub, workers) => {
    await workers.start('w');
    const other = new TaskHubClient({ hubUrl: hub.url, schema: hub.schema });
    try {
      const id = await hub.client.scheduleNewOrchestration(
        'events',
        { key: 'k', names: ['pay', 'ship'] },
        { instanceId: 'order' },
      );
      assert.equal(await hub.client.raiseEvent(id, 'pay', 10, { idempotencyKey: 'pay-1' }), true);
      assert.equal(
        await hub.client.raiseEvent(id, 'pay', 10, { idempotencyKey: 'pay-1' }),
        false,
        'the retry is a no-op',
      );
      // Two clients raising with one key at the same moment: the instance row serialises them.
      const raced = await Promise.all([
        hub.client.raiseEvent(id, 'ship', 'fast', { idempotencyKey: 'ship-1' }),
        other.raiseEvent(id, 'ship', 'fast', { idempotencyKey: 'ship-1' }),
      ]);
      assert.deepEqual(raced.sort(), [false, true], 'exactly one of two racing raises is accepted');
      const done = await hub.client.waitForOrchestrationCompletion(id, { timeoutMs: 10_000 });
      assert.deepEqual(done.output, [10, 'fast']);
      assert.equal(count(await historyKinds(hub, id), 'EventRaised'), 2, 'each event is in history once');
      assert.equal(
        await other.raiseEvent(id, 'pay', 10, { idempotencyKey: 'pay-1' }),
        false,
        'a retry after the instance finished is still a no-op',
      );

      // Without a key, every raise is a new event.
      const twice = await hub.client.scheduleNewOrchestration(
        'events',
        { key: 't', names: ['tick', 'tick'] },
        { instanceId: 'twice' },
      );
      assert.equal(await hub.client.raiseEvent(twice, 'tick', 1, { idempotencyKey: 'tick-1' }), true);
      assert.equal(await hub.client.raiseEvent(twice, 'tick', 1, { idempotencyKey: 'tick-1' }), false);
      await sleep(500);
      assert.equal(
        (await hub.client.getOrchestrationState(twice))?.status,
        'Running',
        'the keyed duplicate did not count as the second tick',
      );
      assert.equal(await hub.client.raiseEvent(twice, 'tick', 2), true);
      assert.deepEqual((await hub.client.waitForOrchestrationCompletion(twice, { timeoutMs: 10_000 })).output, [1, 2]);

      const acked: AckedEvent[] = [
        { instanceId: id, name: 'pay', input: '10' },
        { instanceId: id, name: 'ship', input: '"fast"' },
        { instanceId: twice, name: 'tick', input: '1' },
        { instanceId: twice, name: 'tick', input: '2' },
      ];
      await expectInvariants(
        hub,
        { test: 'scenario 6a: duplicate events', faults: { 'duplicate-raise': 4 } },
        { ackedEvents: acked },
      );
    } finally {
      await other.close();
    }
  });
});

test('the same instance id started twice: one instance, the first input wins; reuseIfFinished replaces a finished one exactly once', async () => {
  await withFaultHub(async (hub, workers) => {
    await workers.start('w');
    const other = new TaskHubClient({ hubUrl: hub.url, schema: hub.schema });
    try {
      await hub.client.scheduleNewOrchestration('events', { key: 'a', names: ['go'] }, { instanceId: 'job' });
      await assert.rejects(
        hub.client.scheduleNewOrchestration('events', { key: 'b', names: ['go'] }, { instanceId: 'job' }),
        exists,
      );
      await assert.rejects(
        hub.client.scheduleNewOrchestration(
          'events',
          { key: 'b', names: ['go'] },
          { instanceId: 'job', reuseIfFinished: true },
        ),
        exists,
        'a running instance is never replaced',
      );
      assert.deepEqual(
        (await hub.client.getOrchestrationState('job'))?.input,
        { key: 'a', names: ['go'] },
        'the first instance is untouched',
      );

      // Racing starts from two clients: exactly one is created.
      const race = await Promise.allSettled([
        hub.client.scheduleNewOrchestration('chain', { key: 'r1', steps: 1 }, { instanceId: 'raced' }),
        other.scheduleNewOrchestration('chain', { key: 'r2', steps: 1 }, { instanceId: 'raced' }),
      ]);
      assert.equal(race.filter((r) => r.status === 'fulfilled').length, 1);
      assert.ok(race.some((r) => r.status === 'rejected' && exists(r.reason)));
      const winner = (await hub.client.waitForOrchestrationCompletion('raced')).output as string[];
      assert.ok(
        ['r1/0', 'r2/0'].includes(winner[0] ?? ''),
        `ran once with one of the inputs: ${JSON.stringify(winner)}`,
      );

      // Finished: a plain start still fails; reuseIfFinished replaces it, and of two racing reuses one wins.
      await hub.client.raiseEvent('job', 'go', 'first');
      const first = await hub.client.waitForOrchestrationCompletion('job');
      await assert.rejects(
        hub.client.scheduleNewOrchestration('events', { key: 'c', names: ['go'] }, { instanceId: 'job' }),
        exists,
      );
      const reuse = await Promise.allSettled([
        hub.client.scheduleNewOrchestration(
          'events',
          { key: 'c', names: ['go'] },
          { instanceId: 'job', reuseIfFinished: true },
        ),
        other.scheduleNewOrchestration(
          'events',
          { key: 'd', names: ['go'] },
          { instanceId: 'job', reuseIfFinished: true },
        ),
      ]);
      assert.equal(reuse.filter((r) => r.status === 'fulfilled').length, 1, 'one replacement');
      assert.ok(reuse.some((r) => r.status === 'rejected' && exists(r.reason)));
      await hub.client.raiseEvent('job', 'go', 'second');
      const second = await hub.client.waitForOrchestrationCompletion('job');
      assert.notEqual(second.executionId, first.executionId);
      assert.deepEqual(second.output, ['second']);
      const kinds = await historyKinds(hub, 'job');
      assert.equal(count(kinds, 'ExecutionStarted'), 1, 'the old history went with the old instance');
      await expectInvariants(
        hub,
        { test: 'scenario 6b: duplicate starts', faults: { 'duplicate-start': 5 } },
        {
          expected: new Map([
            ['job', { status: 'Completed' as const, output: ['second'] }],
            ['raced', { status: 'Completed' as const, output: winner }],
          ]),
        },
      );
    } finally {
      await other.close();
    }
  });
});
