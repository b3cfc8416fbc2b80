import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ActivityContext, OrchestrationContext, Task } from '../../../worker/src/orchestration/index.ts';
import type { Worker } from '../../../worker/src/worker.ts';
import { withRuntime } from './helpers.ts';

test('workers of v1 and v2 on one hub each process only instances of their own version', async () => {
  const registerAs = (served: string) => (w: Worker) =>
    w
      .addActivity('whoAmI', async (ctx: ActivityContext) => ({ worker: served, taskVersion: ctx.version }))
      .addOrchestrator('pinned', function* (ctx: OrchestrationContext): Generator<Task<unknown>, unknown, unknown> {
        const activity = yield* ctx.callActivity('whoAmI');
        return { orchestrationWorker: served, instanceVersion: ctx.version, activity };
      });
  await withRuntime(undefined, async ({ client, startWorker }) => {
    await startWorker(registerAs('v1'), { version: 'v1' });
    await startWorker(registerAs('v2'), { version: 'v2' });
    const ids: [string, string][] = [];
    for (let i = 0; i < 20; i++) {
      const version = i % 2 === 0 ? 'v1' : 'v2';
      ids.push([await client.scheduleNewOrchestration('pinned', undefined, { version }), version]);
    }
    for (const [id, version] of ids) {
      const s = await client.waitForOrchestrationCompletion(id, { timeoutMs: 15000 });
      assert.equal(s.version, version);
      assert.deepEqual(s.output, {
        orchestrationWorker: version,
        instanceVersion: version,
        activity: { worker: version, taskVersion: version },
      });
    }
  });
});

test('sub-orchestrations and activities inherit the parent version', async () => {
  const register = (w: Worker) =>
    w
      .addActivity('v', async (ctx: ActivityContext) => ctx.version)
      .addOrchestrator('child', function* (ctx: OrchestrationContext): Generator<Task<unknown>, unknown, unknown> {
        return [ctx.version, yield* ctx.callActivity('v')];
      })
      .addOrchestrator('parent', function* (ctx: OrchestrationContext): Generator<Task<unknown>, unknown, unknown> {
        return yield* ctx.callSubOrchestrator('child');
      });
  await withRuntime(register, async ({ client }) => {
    const id = await client.scheduleNewOrchestration('parent', undefined, { version: 'v5' });
    const s = await client.waitForOrchestrationCompletion(id, { timeoutMs: 10000 });
    assert.deepEqual(s.output, ['v5', 'v5']);
  }, { version: 'v5' });
});
