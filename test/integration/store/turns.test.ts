import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PayloadTooLargeError } from '../../../worker/src/errors.ts';
import type { HistoryEvent } from '../../../worker/src/orchestration/history.ts';
import { adminQuery, withHub } from '../../harness/postgres.ts';
import { claimOne, commit, kinds, sleep, start, turnFor, V1 } from './helpers.ts';

test('a claimed turn commits history, consumes its messages, schedules activities and releases the lease', async () => {
  await withHub(async ({ store, schema }) => {
    await start(store, 'i1', { n: 1 });
    const item = await claimOne(store);
    assert.equal(item.status, 'Pending');
    assert.deepEqual(item.history, []);
    await commit(store, turnFor(item, { activities: [{ taskId: 0, name: 'charge', version: V1, input: '5' }], customStatus: '"charging"' }));

    const state = await store.getInstance('i1', true);
    assert.equal(state?.status, 'Running');
    assert.equal(state?.customStatus, '"charging"');
    assert.deepEqual(kinds(await store.getHistory('i1')), ['OrchestratorStarted', 'ExecutionStarted', 'TaskScheduled', 'OrchestratorCompleted']);
    const inbox = await adminQuery(`SELECT * FROM "${schema}".inbox`);
    assert.equal(inbox.rowCount, 0, 'the start message was consumed');
    const lease = await adminQuery(`SELECT lock_token, locked_until FROM "${schema}".instances`);
    assert.deepEqual(lease.rows[0], { lock_token: null, locked_until: null });
    const [task] = await store.claimActivities(V1, 10, 30_000, 'w1');
    assert.equal(task?.name, 'charge');
    assert.equal(task?.input, '5');
    assert.deepEqual(await store.claimOrchestrations(V1, 10, 30_000, 'w1'), [], 'nothing left to do for the orchestration');
  });
});

test('a finished instance records output and failure and is not claimable again', async () => {
  await withHub(async ({ store }) => {
    await start(store, 'ok');
    await start(store, 'bad');
    const items = await store.claimOrchestrations(V1, 10, 30_000, 'w1');
    const byId = new Map(items.map((i) => [i.instanceId, i]));
    const results = await store.commitTurns(
      [
        turnFor(byId.get('ok')!, { status: 'Completed', output: '42' }),
        turnFor(byId.get('bad')!, { status: 'Failed', failure: { errorType: 'Error', message: 'boom' } }),
      ],
      30_000,
    );
    assert.deepEqual(results.map((r) => r.committed), [true, true]);
    const ok = await store.getInstance('ok', true);
    assert.equal(ok?.status, 'Completed');
    assert.equal(ok?.output, '42');
    assert.ok(ok?.completedAt instanceof Date);
    assert.deepEqual((await store.getInstance('bad', false))?.failure, { errorType: 'Error', message: 'boom' });
    assert.deepEqual(await store.claimOrchestrations(V1, 10, 30_000, 'w1'), []);
  });
});

test('after a lease expires a second claimer gets a new token, and the first claimer\'s commit writes nothing', async () => {
  await withHub(async ({ store, schema }) => {
    await start(store, 'contested');
    const first = await claimOne(store, 'slow-worker', 300);
    assert.deepEqual(await store.claimOrchestrations(V1, 10, 30_000, 'w2'), [], 'held while the lease lasts');
    await sleep(400);
    const second = await claimOne(store, 'w2');
    assert.notEqual(second.lockToken, first.lockToken);
    assert.equal(second.messages.length, 1, 'the new owner sees the unconsumed message');

    const [late] = await store.commitTurns([turnFor(first, { status: 'Completed', output: '"first"' })], 30_000);
    assert.deepEqual(late, { instanceId: 'contested', committed: false });
    assert.equal((await adminQuery(`SELECT * FROM "${schema}".history`)).rowCount, 0);
    assert.equal((await adminQuery(`SELECT * FROM "${schema}".inbox`)).rowCount, 1);
    assert.equal((await store.getInstance('contested', false))?.status, 'Pending');

    await commit(store, turnFor(second, { status: 'Completed', output: '"second"' }));
    assert.equal((await store.getInstance('contested', true))?.output, '"second"');
  });
});

test('an expired lease cannot commit even when no one else claimed in between', async () => {
  await withHub(async ({ store }) => {
    await start(store, 'lapsed');
    const item = await claimOne(store, 'w1', 200);
    await sleep(300);
    const [result] = await store.commitTurns([turnFor(item)], 30_000);
    assert.equal(result?.committed, false);
  });
});

test('a fenced-out turn does not stop the other turns of its batch', async () => {
  await withHub(async ({ store }) => {
    await start(store, 'a');
    await start(store, 'b');
    const items = await store.claimOrchestrations(V1, 10, 30_000, 'w1');
    assert.equal(items.length, 2);
    const [a, b] = items;
    const results = await store.commitTurns([turnFor(a!, { lockToken: '00000000-0000-0000-0000-000000000000' }), turnFor(b!)], 30_000);
    assert.deepEqual(results, [
      { instanceId: a!.instanceId, committed: false },
      { instanceId: b!.instanceId, committed: true },
    ]);
  });
});

test('knownHistoryLength returns only the events after what the worker holds', async () => {
  await withHub(async ({ store }) => {
    await start(store, 'long');
    let item = await claimOne(store);
    await commit(store, turnFor(item, { timers: [{ timerId: 0, fireAt: new Date(Date.now() - 1).toISOString() }] }));
    item = await claimOne(store);
    assert.equal(item.history.length, 4);
    await commit(store, turnFor(item, { timers: [{ timerId: 5, fireAt: new Date(Date.now() - 1).toISOString() }] }));
    const [again] = await store.claimOrchestrations(V1, 1, 30_000, 'w1', new Map([['long', 4]]));
    assert.equal(again?.historyOffset, 4);
    assert.deepEqual(kinds(again!.history), ['OrchestratorStarted', 'TimerFired', 'TimerCreated', 'OrchestratorCompleted']);
  });
});

test('a timer is invisible until it is due, then arrives as TimerFired', async () => {
  await withHub(async ({ store }) => {
    await start(store, 'sleepy');
    const item = await claimOne(store);
    const fireAt = new Date(Date.now() + 800).toISOString();
    await commit(store, turnFor(item, { timers: [{ timerId: 1, fireAt }] }));
    assert.deepEqual(await store.claimOrchestrations(V1, 10, 30_000, 'w1'), []);
    await sleep(900);
    const fired = await claimOne(store);
    assert.deepEqual(fired.messages.map((m) => m.event), [{ kind: 'TimerFired', timestamp: fireAt, timerId: 1, fireAt }]);
  });
});

test('continue-as-new starts a fresh execution: ExecutionStarted first, then the carryover events in order, then newer events', async () => {
  await withHub(async ({ store, schema }) => {
    await start(store, 'eternal', 0);
    const item = await claimOne(store);
    // An event that arrives while the turn runs is not in the turn's messages.
    await store.sendControl('eternal', { kind: 'raise', name: 'late', input: '"z"' });
    const carry: HistoryEvent[] = [
      { kind: 'EventRaised', timestamp: new Date().toISOString(), name: 'tick', input: '1' },
      { kind: 'EventRaised', timestamp: new Date().toISOString(), name: 'tick', input: '2' },
    ];
    await commit(
      store,
      turnFor(item, {
        status: 'ContinuedAsNew',
        continueAsNew: { newExecutionId: 'exec-2', name: 'flow', version: 'v2', input: '1', carryoverEvents: carry },
        timers: [{ timerId: 9, fireAt: new Date(Date.now() + 60_000).toISOString() }],
      }),
    );
    const state = await store.getInstance('eternal', true);
    assert.equal(state?.executionId, 'exec-2');
    assert.equal(state?.version, 'v2');
    assert.equal(state?.input, '1');
    assert.equal(state?.status, 'Running');
    assert.deepEqual(await store.getHistory('eternal'), [], 'the old execution\'s history is gone');
    const old = await adminQuery(`SELECT * FROM "${schema}".history WHERE execution_id <> 'exec-2'`);
    assert.equal(old.rowCount, 0);

    const [next] = await store.claimOrchestrations('v2', 1, 30_000, 'w1');
    assert.ok(next, 'the new version claims it');
    assert.equal(next.executionId, 'exec-2');
    const events = next.messages.map((m) => m.event);
    assert.deepEqual(kinds(events), ['ExecutionStarted', 'EventRaised', 'EventRaised', 'EventRaised']);
    assert.deepEqual(
      events.slice(1).map((e) => (e.kind === 'EventRaised' ? e.input : '')),
      ['1', '2', '"z"'],
    );
    const started = events[0];
    assert.equal(started?.kind === 'ExecutionStarted' && started.executionId, 'exec-2');
    assert.equal(started?.kind === 'ExecutionStarted' && started.input, '1');
  });
});

test('a turn creating a sub-orchestration writes its instance with the parent link and an ExecutionStarted', async () => {
  await withHub(async ({ store }) => {
    await start(store, 'parent', null, 'parentFlow');
    const item = await claimOne(store);
    await commit(
      store,
      turnFor(item, { subOrchestrations: [{ instanceId: 'parent:child', name: 'childFlow', version: 'v1', input: '"in"', parentTaskId: 3 }] }),
    );
    const child = await store.getInstance('parent:child', true);
    assert.equal(child?.status, 'Pending');
    assert.equal(child?.parentInstanceId, 'parent');
    assert.equal(child?.input, '"in"');
    const claimed = await claimOne(store);
    assert.equal(claimed.instanceId, 'parent:child');
    const started = claimed.messages[0]?.event;
    assert.equal(started?.kind, 'ExecutionStarted');
    assert.deepEqual(started.kind === 'ExecutionStarted' && started.parent, {
      instanceId: 'parent',
      executionId: item.executionId,
      taskScheduledId: 3,
      name: 'parentFlow',
    });
  });
});

test('a sub-orchestration whose id is taken fails back to the parent instead of hanging it', async () => {
  await withHub(async ({ store }) => {
    await start(store, 'taken', null, 'other');
    await start(store, 'parent', null, 'parentFlow');
    const items = await store.claimOrchestrations(V1, 10, 30_000, 'w1');
    const parent = items.find((i) => i.instanceId === 'parent')!;
    await store.abandonOrchestrations(items.filter((i) => i !== parent));
    await commit(store, turnFor(parent, { subOrchestrations: [{ instanceId: 'taken', name: 'childFlow', version: V1, parentTaskId: 4 }] }));
    const again = (await store.claimOrchestrations(V1, 10, 30_000, 'w1')).find((i) => i.instanceId === 'parent');
    const failed = again?.messages[0]?.event;
    assert.equal(failed?.kind, 'SubOrchestrationInstanceFailed');
    assert.equal(failed.kind === 'SubOrchestrationInstanceFailed' && failed.taskScheduledId, 4);
  });
});

test('messages reach other instances at once; a message to an unknown instance is dropped', async () => {
  await withHub(async ({ store, schema }) => {
    await start(store, 'sender');
    await start(store, 'receiver');
    const items = await store.claimOrchestrations(V1, 10, 30_000, 'w1');
    const sender = items.find((i) => i.instanceId === 'sender')!;
    const receiver = items.find((i) => i.instanceId === 'receiver')!;
    await commit(store, turnFor(receiver));
    const event: HistoryEvent = { kind: 'EventRaised', timestamp: new Date().toISOString(), name: 'ping', input: '1' };
    await commit(store, turnFor(sender, { messages: [{ instanceId: 'receiver', event }, { instanceId: 'nobody', event }] }));
    const [got] = await store.claimOrchestrations(V1, 10, 30_000, 'w1');
    assert.equal(got?.instanceId, 'receiver');
    assert.deepEqual(got?.messages.map((m) => m.event), [event]);
    assert.equal((await adminQuery(`SELECT * FROM "${schema}".inbox WHERE instance_id = 'nobody'`)).rowCount, 0);
  });
});

test('a result addressed to a parent\'s earlier execution is never delivered to its new one', async () => {
  await withHub(async ({ store }) => {
    await start(store, 'p', null, 'parentFlow');
    const parent = await claimOne(store);
    await commit(store, turnFor(parent, { subOrchestrations: [{ instanceId: 'p:c', name: 'childFlow', version: V1, parentTaskId: 1 }] }));
    const child = await claimOne(store);
    assert.equal(child.instanceId, 'p:c');
    // The parent moves on to a new execution before the child finishes.
    await store.sendControl('p', { kind: 'raise', name: 'go' });
    const parent2 = await claimOne(store);
    await commit(
      store,
      turnFor(parent2, { status: 'ContinuedAsNew', continueAsNew: { newExecutionId: 'p-2', name: 'parentFlow', version: V1, carryoverEvents: [] } }),
    );
    const result: HistoryEvent = { kind: 'SubOrchestrationInstanceCompleted', timestamp: new Date().toISOString(), taskScheduledId: 1, result: '1' };
    await commit(store, turnFor(child, { status: 'Completed', output: '1', messages: [{ instanceId: 'p', event: result }] }));
    const next = await claimOne(store);
    assert.equal(next.instanceId, 'p');
    assert.deepEqual(kinds(next.messages.map((m) => m.event)), ['ExecutionStarted']);
  });
});

test('an oversize custom status is refused without holding up the other turns of the batch', async () => {
  await withHub(async ({ store }) => {
    await start(store, 'chatty');
    await start(store, 'quiet');
    const items = await store.claimOrchestrations(V1, 10, 30_000, 'w1');
    const chatty = items.find((i) => i.instanceId === 'chatty')!;
    const quiet = items.find((i) => i.instanceId === 'quiet')!;
    const huge = JSON.stringify('s'.repeat(20_000));
    await assert.rejects(
      store.commitTurns([turnFor(chatty, { customStatus: huge }), turnFor(quiet, { status: 'Completed' })], 30_000),
      (err: unknown) => err instanceof PayloadTooLargeError && /custom status of 'chatty'/.test(err.message),
    );
    assert.equal((await store.getInstance('quiet', false))?.status, 'Completed');
    assert.equal((await store.getInstance('chatty', true))?.customStatus, undefined);
  });
});
