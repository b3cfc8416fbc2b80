/**
 * Sub-orchestrations: deterministic default instance ids, explicit ids and versions, results and
 * failures coming back to the parent.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OrchestrationContext } from '../../../worker/src/orchestration/api.ts';
import { TaskFailedError } from '../../../worker/src/orchestration/failure.ts';
import { only, TurnDriver } from '../fixtures/driver.ts';
import { at, failure, subCompleted, subFailed } from '../fixtures/history.ts';
import { completion, registryOf } from '../fixtures/run.ts';

function* shipOrder(_ctx: OrchestrationContext, orderId: string) {
  return `shipped ${orderId}`;
}

const registry = registryOf({
  *parent(ctx: OrchestrationContext, orders: string[]) {
    const results = yield* ctx.whenAll(orders.map((o) => ctx.callSubOrchestrator<string>('ship', o)));
    return results;
  },
  *explicit(ctx: OrchestrationContext) {
    return yield* ctx.callSubOrchestrator(shipOrder, 'A-1', { instanceId: 'ship-A-1', version: 'v2' });
  },
  *handles(ctx: OrchestrationContext) {
    try {
      yield* ctx.callSubOrchestrator('ship', 'B-2');
    } catch (err) {
      if (err instanceof TaskFailedError) return { kind: err.taskKind, cause: err.details.cause?.message };
      throw err;
    }
  },
});

test('sub-orchestrations get deterministic default ids: parent id, execution id prefix, sequence number', () => {
  const d = new TurnDriver(registry);
  assert.deepEqual(d.start('parent', ['A', 'B']).actions, [
    { kind: 'CreateSubOrchestration', id: 0, name: 'ship', instanceId: 'order-1:0000000a:0', input: '"A"' },
    { kind: 'CreateSubOrchestration', id: 1, name: 'ship', instanceId: 'order-1:0000000a:1', input: '"B"' },
  ]);
  const done = d.turn(at(1), subCompleted(1, 'B ok'), subCompleted(0, 'A ok'));
  assert.equal(completion(done.actions)?.result, '["A ok","B ok"]');
});

test('a sub-orchestration can be named by its function and given an instance id and a version', () => {
  const d = new TurnDriver(registry);
  assert.deepEqual(only(d.start('explicit')), {
    kind: 'CreateSubOrchestration',
    id: 0,
    name: 'shipOrder',
    instanceId: 'ship-A-1',
    version: 'v2',
    input: '"A-1"',
  });
  assert.equal(completion(d.turn(at(1), subCompleted(0, 'shipped A-1')).actions)?.result, '"shipped A-1"');
});

test('a failed sub-orchestration reaches the parent as TaskFailedError with the child failure as details', () => {
  const d = new TurnDriver(registry);
  d.start('handles');
  const childFailure = failure("activity 'pack' failed: no box", {
    errorType: 'TaskFailedError',
    cause: failure('no box'),
  });
  const action = completion(d.turn(at(1), subFailed(0, childFailure)).actions);
  assert.equal(action?.result, '{"kind":"sub-orchestration","cause":"no box"}');
});

test('an unhandled sub-orchestration failure fails the parent with the whole chain', () => {
  const d = new TurnDriver(registry);
  d.start('parent', ['A']);
  const childFailure = failure('child broke', { errorType: 'TypeError' });
  const action = completion(d.turn(at(1), subFailed(0, childFailure)).actions);
  assert.equal(action?.failure?.message, "sub-orchestration 'ship' (task 0) failed: child broke");
  assert.deepEqual(action?.failure?.cause, childFailure);
});
