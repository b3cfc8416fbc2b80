import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withHub } from '../../harness/postgres.ts';
import { claimOne, commit, sleep, start, turnFor, V1 } from './helpers.ts';

/** An instance that has scheduled activity `charge` (task 0) and is waiting for it. */
async function scheduled(store: Parameters<typeof start>[0], id = 'i1'): Promise<void> {
  await start(store, id);
  const item = await claimOne(store);
  await commit(store, turnFor(item, { activities: [{ taskId: 0, name: 'charge', version: V1, input: '"card"' }] }));
}

test('completing an activity deletes the task and delivers TaskCompleted to its orchestration', async () => {
  await withHub(async ({ store }) => {
    await scheduled(store);
    const [task] = await store.claimActivities(V1, 10, 30_000, 'aw');
    assert.ok(task);
    assert.equal(task.deliveryCount, 1);
    assert.deepEqual(await store.claimActivities(V1, 10, 30_000, 'aw2'), [], 'a held task is invisible');
    const lost = await store.completeActivities([
      { id: task.id, lockToken: task.lockToken, instanceId: task.instanceId, executionId: task.executionId, taskId: 0, result: '"ok"' },
    ]);
    assert.deepEqual(lost, []);
    const item = await claimOne(store);
    const event = item.messages[0]?.event;
    assert.equal(event?.kind, 'TaskCompleted');
    assert.equal(event.kind === 'TaskCompleted' && event.result, '"ok"');
    assert.equal(event.kind === 'TaskCompleted' && event.taskScheduledId, 0);
    assert.deepEqual(await store.claimActivities(V1, 10, 30_000, 'aw'), [], 'the task is gone');
  });
});

test('a failed activity arrives as TaskFailed with its failure details', async () => {
  await withHub(async ({ store }) => {
    await scheduled(store);
    const [task] = await store.claimActivities(V1, 10, 30_000, 'aw');
    const failure = { errorType: 'CardDeclined', message: 'no funds', nonRetriable: true };
    await store.completeActivities([{ id: task!.id, lockToken: task!.lockToken, instanceId: 'i1', executionId: task!.executionId, taskId: 0, failure }]);
    const item = await claimOne(store);
    const event = item.messages[0]?.event;
    assert.equal(event?.kind, 'TaskFailed');
    assert.deepEqual(event.kind === 'TaskFailed' && event.failure, failure);
  });
});

test('an activity whose lease expires is delivered again with a higher delivery count, and the first holder cannot complete it', async () => {
  await withHub(async ({ store }) => {
    await scheduled(store);
    const [first] = await store.claimActivities(V1, 10, 200, 'crashed');
    await sleep(300);
    const [second] = await store.claimActivities(V1, 10, 30_000, 'aw');
    assert.equal(second?.id, first?.id);
    assert.equal(second?.deliveryCount, 2);
    assert.notEqual(second?.lockToken, first?.lockToken);
    const lost = await store.completeActivities([
      { id: first!.id, lockToken: first!.lockToken, instanceId: 'i1', executionId: first!.executionId, taskId: 0, result: '"stale"' },
    ]);
    assert.deepEqual(lost, [first!.id]);
    assert.deepEqual(await store.claimOrchestrations(V1, 10, 30_000, 'w'), [], 'the stale result was not delivered');
    assert.deepEqual(await store.renewActivityLeases([{ id: first!.id, lockToken: first!.lockToken }], 30_000), [first!.id]);
    assert.deepEqual(await store.renewActivityLeases([{ id: second!.id, lockToken: second!.lockToken }], 30_000), []);
  });
});

test('an abandoned activity is claimable again at once', async () => {
  await withHub(async ({ store }) => {
    await scheduled(store);
    const [task] = await store.claimActivities(V1, 10, 60_000, 'stopping');
    await store.abandonActivities([{ id: task!.id, lockToken: task!.lockToken }]);
    const [again] = await store.claimActivities(V1, 10, 60_000, 'aw');
    assert.equal(again?.id, task?.id);
  });
});

test('many results complete in one call, each reaching its own instance', async () => {
  await withHub(async ({ store }) => {
    for (let n = 0; n < 5; n++) await scheduled(store, `i${n}`);
    const tasks = await store.claimActivities(V1, 10, 30_000, 'aw');
    assert.equal(tasks.length, 5);
    const lost = await store.completeActivities(
      tasks.map((t) => ({ id: t.id, lockToken: t.lockToken, instanceId: t.instanceId, executionId: t.executionId, taskId: t.taskId, result: JSON.stringify(t.instanceId) })),
    );
    assert.deepEqual(lost, []);
    const items = await store.claimOrchestrations(V1, 10, 30_000, 'w');
    assert.equal(items.length, 5);
    for (const item of items) {
      const event = item.messages[0]?.event;
      assert.equal(event?.kind === 'TaskCompleted' && event.result, JSON.stringify(item.instanceId));
    }
  });
});

test('a result for an execution that has ended is accepted from the worker but never delivered', async () => {
  await withHub(async ({ store }) => {
    await scheduled(store);
    const [task] = await store.claimActivities(V1, 10, 30_000, 'aw');
    await store.sendControl('i1', { kind: 'raise', name: 'restart' });
    const item = await claimOne(store);
    await commit(store, turnFor(item, { status: 'ContinuedAsNew', continueAsNew: { newExecutionId: 'e2', name: 'flow', version: V1, carryoverEvents: [] } }));
    const lost = await store.completeActivities([
      { id: task!.id, lockToken: task!.lockToken, instanceId: 'i1', executionId: task!.executionId, taskId: 0, result: '1' },
    ]);
    assert.deepEqual(lost, [], 'the worker did its job; the task is done');
    const next = await claimOne(store);
    assert.deepEqual(next.messages.map((m) => m.event.kind), ['ExecutionStarted']);
  });
});
