import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InstanceAlreadyExistsError, PayloadTooLargeError, ValidationError } from '../../../worker/src/errors.ts';
import type { OrchestrationContext, Task } from '../../../worker/src/orchestration/index.ts';
import type { Worker } from '../../../worker/src/worker.ts';
import { withRuntime } from './helpers.ts';

const register = (w: Worker) =>
  w.addOrchestrator('echo', function* (_ctx: OrchestrationContext, input: unknown): Generator<Task<unknown>, unknown, unknown> {
    return input;
  });

async function instanceCount(client: { listInstances(o: object): Promise<{ instances: unknown[] }> }): Promise<number> {
  return (await client.listInstances({ pageSize: 1000 })).instances.length;
}

test('oversize input is refused before anything is written, naming the field and the limit', async () => {
  await withRuntime(register, async ({ client }) => {
    await assert.rejects(client.scheduleNewOrchestration('echo', 'x'.repeat(5000)), (err: unknown) => {
      assert.ok(err instanceof PayloadTooLargeError);
      assert.match(err.message, /input is 5002 bytes, over the limit of 4096 bytes/);
      return true;
    });
    assert.equal(await instanceCount(client), 0);
  }, { maxPayloadBytes: 4096 });
});

test('input that is not JSON-serialisable is refused with the reason', async () => {
  await withRuntime(register, async ({ client }) => {
    await assert.rejects(client.scheduleNewOrchestration('echo', { amount: 10n }), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.equal(err.field, 'input');
      assert.match(err.message, /BigInt/);
      return true;
    });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await assert.rejects(client.scheduleNewOrchestration('echo', cyclic), /input: is not JSON-serialisable/);
    assert.equal(await instanceCount(client), 0);
  });
});

test('invalid and duplicate instance ids get clear errors', async () => {
  await withRuntime(register, async ({ client }) => {
    await assert.rejects(client.scheduleNewOrchestration('echo', 1, { instanceId: '' }), (err: unknown) => err instanceof ValidationError && /instanceId/i.test(err.message));
    await assert.rejects(client.scheduleNewOrchestration('echo', 1, { instanceId: 'a\u0000b' }), /instanceId/i);
    await assert.rejects(client.scheduleNewOrchestration('echo', 1, { instanceId: 'x'.repeat(300) }), /instanceId/i);
    assert.equal(await instanceCount(client), 0);
    await client.scheduleNewOrchestration('echo', 1, { instanceId: 'once' });
    await assert.rejects(client.scheduleNewOrchestration('echo', 2, { instanceId: 'once' }), (err: unknown) => {
      assert.ok(err instanceof InstanceAlreadyExistsError);
      assert.equal(err.code, 'DTK_INSTANCE_EXISTS');
      return true;
    });
    assert.equal((await client.waitForOrchestrationCompletion('once')).output, 1, 'the first instance is untouched');
  });
});

test('an unknown orchestration name fails the instance, naming the registered ones', async () => {
  await withRuntime(register, async ({ client }) => {
    const id = await client.scheduleNewOrchestration('ecoh', 1);
    const s = await client.waitForOrchestrationCompletion(id, { timeoutMs: 10000 });
    assert.equal(s.status, 'Failed');
    assert.match(s.failure?.message ?? '', /ecoh/);
    assert.match(s.failure?.message ?? '', /echo/);
  });
});
