/**
 * External events: waiting before or after the event arrives, FIFO per name, case-insensitive
 * names, waits with a timeout (either side winning), and sending events to other instances.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OrchestrationContext } from '../../../worker/src/orchestration/api.ts';
import { EventTimeoutError, TaskFailedError } from '../../../worker/src/orchestration/failure.ts';
import { only, TurnDriver } from '../fixtures/driver.ts';
import {
  at,
  eventRaised,
  eventSent,
  orchestratorCompleted,
  orchestratorStarted,
  started,
  taskCompleted,
  timerFired,
} from '../fixtures/history.ts';
import { completion, registryOf, replay } from '../fixtures/run.ts';

const registry = registryOf({
  *approval(ctx: OrchestrationContext) {
    const answer = yield* ctx.waitForExternalEvent<{ ok: boolean }>('Approval');
    return answer.ok ? 'approved' : 'rejected';
  },
  *twoInARow(ctx: OrchestrationContext) {
    yield* ctx.callActivity('prepare');
    const first = yield* ctx.waitForExternalEvent<number>('tick');
    const second = yield* ctx.waitForExternalEvent<number>('tick');
    return [first, second];
  },
  *withTimeout(ctx: OrchestrationContext) {
    try {
      return yield* ctx.waitForExternalEvent<string>('reply', 60_000);
    } catch (err) {
      if (!(err instanceof EventTimeoutError)) throw err;
      const late = yield* ctx.waitForExternalEvent<string>('reply');
      return `timed out (${err.code}, task failed: ${err instanceof TaskFailedError}), then got ${late}`;
    }
  },
  *uncaughtTimeout(ctx: OrchestrationContext) {
    yield* ctx.waitForExternalEvent('reply', 1000);
  },
  *notify(ctx: OrchestrationContext, target: string) {
    ctx.sendEvent(target, 'Wake', { by: ctx.instanceId });
    yield* ctx.callActivity('after');
    return 'sent';
  },
});

test('waiting first: the wait creates no action and the event resumes the code with its data', () => {
  const d = new TurnDriver(registry);
  assert.deepEqual(d.start('approval').actions, []);
  assert.equal(completion(d.turn(at(5), eventRaised('Approval', { ok: true })).actions)?.result, '"approved"');
});

test('event names are case-insensitive', () => {
  const d = new TurnDriver(registry);
  d.start('approval');
  assert.equal(completion(d.turn(at(5), eventRaised('APPROVAL', { ok: false })).actions)?.result, '"rejected"');
});

test('events that arrive before anyone waits are buffered and consumed in order by later waits', () => {
  const d = new TurnDriver(registry);
  d.start('twoInARow');
  assert.deepEqual(d.turn(at(1), eventRaised('tick', 1), eventRaised('Tick', 2), eventRaised('tick', 3)).actions, []);
  const done = d.turn(at(2), taskCompleted(0));
  assert.equal(completion(done.actions)?.result, '[1,2]', 'FIFO: the first two ticks, the third stays buffered');
});

test('an event arriving in the same batch as its waiter being created is not lost', () => {
  const d = new TurnDriver(registry);
  d.start('twoInARow');
  const done = d.turn(at(1), taskCompleted(0), eventRaised('tick', 7), eventRaised('tick', 8));
  assert.equal(completion(done.actions)?.result, '[7,8]');
});

test('wait with timeout, event first: a timer is created, the event wins, the later TimerFired is ignored', () => {
  const d = new TurnDriver(registry);
  assert.deepEqual(only(d.start('withTimeout')), { kind: 'CreateTimer', id: 0, fireAt: at(60) });
  assert.equal(completion(d.turn(at(10), eventRaised('reply', 'yes')).actions)?.result, '"yes"');
  assert.deepEqual(d.turn(at(60), timerFired(0, at(60))).actions, []);
});

test('wait with timeout, timer first: EventTimeoutError, and a later event is kept for the next wait', () => {
  const d = new TurnDriver(registry);
  d.start('withTimeout');
  assert.deepEqual(d.turn(at(60), timerFired(0, at(60))).actions, [], 'caught; now waiting without timeout');
  const done = d.turn(at(70), eventRaised('reply', 'finally'));
  assert.equal(completion(done.actions)?.result, '"timed out (DTK_TASK_FAILED, task failed: true), then got finally"');
});

test('an unhandled event timeout fails the instance with EventTimeoutError', () => {
  const d = new TurnDriver(registry);
  d.start('uncaughtTimeout');
  const action = completion(d.turn(at(1), timerFired(0, at(1))).actions);
  assert.equal(action?.status, 'Failed');
  assert.equal(action?.failure?.errorType, 'EventTimeoutError');
  assert.equal(action?.failure?.message, "external event 'reply' (task 0) failed: no event arrived within 1000 ms");
});

test('a buffered event satisfies a wait with timeout at once, without creating a timer', () => {
  const old = [orchestratorStarted(), eventRaised('reply', 'early'), started('withTimeout'), orchestratorCompleted()];
  const { result } = replay(registry, old);
  assert.deepEqual(result.actions, [{ kind: 'CompleteOrchestration', id: 0, status: 'Completed', result: '"early"' }]);
});

test('sendEvent creates a SendEvent action, matched by EventSent on replay', () => {
  const d = new TurnDriver(registry);
  const first = d.start('notify', 'other-7');
  assert.deepEqual(first.actions, [
    { kind: 'SendEvent', id: 0, instanceId: 'other-7', name: 'Wake', input: '{"by":"order-1"}' },
    { kind: 'ScheduleTask', id: 1, name: 'after' },
  ]);
  assert.deepEqual(d.history.find((e) => e.kind === 'EventSent'), eventSent(0, 'other-7', 'Wake', { by: 'order-1' }));
  assert.equal(completion(d.turn(at(1), taskCompleted(1)).actions)?.result, '"sent"');
});
