/**
 * The registry: names are explicit or taken from the function, case-sensitive, unique per kind.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../../../worker/src/errors.ts';
import type { ActivityContext, OrchestrationContext } from '../../../worker/src/orchestration/api.ts';
import { Registry } from '../../../worker/src/orchestration/registry.ts';

function* processOrder(ctx: OrchestrationContext, id: string) {
  return yield* ctx.callActivity<string>('charge', id);
}

async function charge(_ctx: ActivityContext, id: string): Promise<string> {
  return `charged ${id}`;
}

test('orchestrations and activities are found by the name they were registered under', () => {
  const registry = new Registry().addOrchestrator('process', processOrder).addActivity(charge);
  assert.equal(registry.getOrchestrator('process'), processOrder);
  assert.equal(registry.getActivity('charge'), charge);
  assert.equal(registry.getOrchestrator('processOrder'), undefined, 'an explicit name replaces the function name');
});

test('names are case-sensitive and orchestrations and activities have separate namespaces', () => {
  const registry = new Registry().addOrchestrator(processOrder).addActivity('processOrder', charge);
  assert.equal(registry.getOrchestrator('ProcessOrder'), undefined);
  assert.deepEqual(registry.orchestratorNames(), ['processOrder']);
  assert.deepEqual(registry.activityNames(), ['processOrder']);
});

test('a duplicate name is rejected with a ValidationError', () => {
  const registry = new Registry().addActivity(charge);
  assert.throws(() => registry.addActivity('charge', charge), (err: unknown) => {
    assert.ok(err instanceof ValidationError);
    assert.match(err.message, /'charge' is already registered/);
    return true;
  });
});

test('an anonymous function needs a name', () => {
  assert.throws(() => new Registry().addActivity((() => () => 1)()), /has no name/);
  assert.throws(() => new Registry().addOrchestrator('', processOrder), /must not be empty/);
});

test('names are listed sorted', () => {
  const registry = new Registry().addActivity('b', charge).addActivity('a', charge).addActivity('C', charge);
  assert.deepEqual(registry.activityNames(), ['C', 'a', 'b']);
});
