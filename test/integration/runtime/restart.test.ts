/**
 * Restarting an instance: from the beginning, with its name, original input and tags, under a new id
 * (any instance) or under the same id (only a finished one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InstanceAlreadyExistsError, InstanceNotFoundError } from '../../../worker/src/errors.ts';
import type { OrchestrationContext, Task } from '../../../worker/src/orchestration/index.ts';
import type { Worker } from '../../../worker/src/worker.ts';
import { withRuntime } from './helpers.ts';

type Gen<T> = Generator<Task<unknown>, T, unknown>;

interface Order {
  item: string;
  failFirst: boolean;
}

let attempts = 0;

const register = (w: Worker) =>
  w
    .addActivity('ship', async (_ctx, order: Order) => {
      attempts++;
      if (order.failFirst && attempts === 1) throw new Error('warehouse offline');
      return `shipped ${order.item}`;
    })
    .addOrchestrator('order', function* (ctx: OrchestrationContext, order: Order): Gen<unknown> {
      return yield* ctx.callActivity('ship', order);
    })
    .addOrchestrator('waits', function* (ctx: OrchestrationContext): Gen<unknown> {
      return yield* ctx.waitForExternalEvent('never');
    });

test('a failed instance restarted under a new id runs again from the start with its input and tags; the old one stays as it was', async () => {
  attempts = 0;
  await withRuntime(register, async ({ client }) => {
    const id = await client.scheduleNewOrchestration('order', { item: 'lamp', failFirst: true }, { tags: { team: 'home' } });
    const failed = await client.waitForOrchestrationCompletion(id, { timeoutMs: 10_000 });
    assert.equal(failed.status, 'Failed');

    const again = await client.restartOrchestration(id);
    assert.notEqual(again, id);
    const done = await client.waitForOrchestrationCompletion(again, { timeoutMs: 10_000 });
    assert.equal(done.status, 'Completed');
    assert.equal(done.output, 'shipped lamp');
    assert.equal(done.name, 'order');
    assert.deepEqual(done.input, { item: 'lamp', failFirst: true });
    assert.deepEqual(done.tags, { team: 'home' });
    assert.equal((await client.getOrchestrationState(id))?.status, 'Failed', 'the original instance is untouched');
  });
});

test('restarting under the same id replaces a finished instance with a fresh execution', async () => {
  attempts = 0;
  await withRuntime(register, async ({ client }) => {
    const id = 'order-42';
    await client.scheduleNewOrchestration('order', { item: 'desk', failFirst: true }, { instanceId: id });
    const failed = await client.waitForOrchestrationCompletion(id, { timeoutMs: 10_000 });
    assert.equal(failed.status, 'Failed');

    assert.equal(await client.restartOrchestration(id, { newInstanceId: false }), id);
    const done = await client.waitForOrchestrationCompletion(id, { timeoutMs: 10_000 });
    assert.equal(done.status, 'Completed');
    assert.notEqual(done.executionId, failed.executionId);
    const kinds = (await client.getOrchestrationHistory(id)).map((e) => e.kind);
    assert.equal(kinds.filter((k) => k === 'TaskFailed').length, 0, 'the history starts afresh');
    assert.equal(kinds.filter((k) => k === 'TaskCompleted').length, 1);
  });
});

test('a running instance cannot be restarted under its own id, and an unknown one not at all', async () => {
  await withRuntime(register, async ({ client }) => {
    const id = await client.scheduleNewOrchestration('waits');
    await client.waitForOrchestrationStart(id, { timeoutMs: 10_000 });
    await assert.rejects(client.restartOrchestration(id, { newInstanceId: false }), InstanceAlreadyExistsError);
    assert.equal((await client.getOrchestrationState(id))?.status, 'Running', 'the running instance is untouched');

    const copy = await client.restartOrchestration(id, { newInstanceId: `${id}-copy` });
    assert.equal(copy, `${id}-copy`);
    await client.waitForOrchestrationStart(copy, { timeoutMs: 10_000 });
    await assert.rejects(client.restartOrchestration('no-such-instance'), InstanceNotFoundError);
  });
});
