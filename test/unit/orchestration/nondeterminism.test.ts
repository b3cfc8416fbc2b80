/**
 * Code changed under a running instance: history recorded by version 1 of `order` is replayed
 * against edited code. Every divergence fails the instance with NonDeterminismError naming the
 * history event, what it expected and what the code did, and nothing the diverged code asked
 * for is executed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OrchestrationContext } from '../../../worker/src/orchestration/api.ts';
import { OrchestrationExecutor } from '../../../worker/src/orchestration/executor.ts';
import type { HistoryEvent } from '../../../worker/src/orchestration/history.ts';
import {
  at,
  executionCompleted,
  orchestratorCompleted,
  orchestratorStarted,
  started,
  taskCompleted,
  taskScheduled,
  timerCreated,
} from '../fixtures/history.ts';
import { completion, registryOf, replay } from '../fixtures/run.ts';

/** What version 1 of `order` recorded: charge, then ship, then done. */
const turn1: HistoryEvent[] = [
  orchestratorStarted(),
  started('order'),
  taskScheduled(0, 'charge'),
  orchestratorCompleted(),
];
const turn2: HistoryEvent[] = [
  orchestratorStarted(at(1)),
  taskCompleted(0),
  taskScheduled(1, 'ship'),
  orchestratorCompleted(at(1)),
];
const turn3: HistoryEvent[] = [
  orchestratorStarted(at(2)),
  taskCompleted(1),
  executionCompleted('Completed', 'done', at(2)),
  orchestratorCompleted(at(2)),
];

function orderV2(body: Body) {
  return registryOf({ order: body });
}

type Body = (ctx: OrchestrationContext) => Generator<unknown, unknown, unknown>;

function failureOf(old: HistoryEvent[], next: HistoryEvent[], body: Body) {
  const { result } = replay(orderV2(body), old, next);
  assert.equal(result.actions.length, 1, `only the failure is returned, got ${JSON.stringify(result.actions)}`);
  const action = completion(result.actions);
  assert.equal(action?.status, 'Failed');
  assert.equal(action?.failure?.errorType, 'NonDeterminismError');
  assert.match(action?.failure?.message ?? '', /Did the orchestration code change while instances were running\?/);
  assert.match(action?.failure?.message ?? '', /new version/);
  return action?.failure?.message ?? '';
}

test('renamed activity: the message names the event, the expected and the actual action', () => {
  const message = failureOf(turn1, [orchestratorStarted(at(1)), taskCompleted(0)], function* (ctx) {
    yield* ctx.callActivity('chargeCard');
    yield* ctx.callActivity('ship');
    return 'done';
  });
  assert.match(
    message,
    /^nondeterministic orchestration 'order' \(instance 'order-1'\): history event TaskScheduled \(id 0, name 'charge'\) expects ScheduleTask 'charge' \(id 0\), but the code created ScheduleTask 'chargeCard' \(id 0\) instead\./,
  );
});

test('a yield removed from the middle: the next call takes its sequence number and no longer matches', () => {
  const message = failureOf([...turn1, ...turn2], [orchestratorStarted(at(2)), taskCompleted(1)], function* (ctx) {
    yield* ctx.callActivity('ship');
    return 'done';
  });
  assert.match(message, /history event TaskScheduled \(id 0, name 'charge'\) expects ScheduleTask 'charge' \(id 0\), but the code created ScheduleTask 'ship' \(id 0\)/);
});

test('a yield removed from the end: history has a scheduled task the code no longer creates', () => {
  const message = failureOf([...turn1, ...turn2], [orchestratorStarted(at(2)), taskCompleted(1)], function* (ctx) {
    yield* ctx.callActivity('charge');
    return 'done';
  });
  assert.match(
    message,
    /history event TaskScheduled \(id 1, name 'ship'\) expects ScheduleTask 'ship' \(id 1\), but the code created no action with id 1: it had already ended with CompleteOrchestration \(status Completed\)/,
  );
});

test('two calls reordered', () => {
  const message = failureOf(turn1, [orchestratorStarted(at(1)), taskCompleted(0)], function* (ctx) {
    yield* ctx.callActivity('ship');
    yield* ctx.callActivity('charge');
  });
  assert.match(message, /TaskScheduled \(id 0, name 'charge'\) expects ScheduleTask 'charge' \(id 0\), but the code created ScheduleTask 'ship' \(id 0\)/);
});

test('fan-out reordered inside whenAll', () => {
  const old = [
    orchestratorStarted(),
    started('order'),
    taskScheduled(0, 'a'),
    taskScheduled(1, 'b'),
    orchestratorCompleted(),
  ];
  const message = failureOf(old, [orchestratorStarted(at(1))], function* (ctx) {
    yield* ctx.whenAll([ctx.callActivity('b'), ctx.callActivity('a')]);
  });
  assert.match(message, /TaskScheduled \(id 0, name 'a'\) expects ScheduleTask 'a' \(id 0\), but the code created ScheduleTask 'b' \(id 0\)/);
});

test('a timer replaced by an activity: the kinds differ', () => {
  const old = [orchestratorStarted(), started('order'), timerCreated(0, at(60)), orchestratorCompleted()];
  const message = failureOf(old, [orchestratorStarted(at(1))], function* (ctx) {
    yield* ctx.callActivity('wait');
  });
  assert.match(message, /history event TimerCreated \(id 0\) expects CreateTimer \(id 0\), but the code created ScheduleTask 'wait' \(id 0\)/);
});

test('a step added at the end of a finished history: the recorded completion no longer matches', () => {
  const message = failureOf([...turn1, ...turn2, ...turn3], [], function* (ctx) {
    yield* ctx.callActivity('charge');
    yield* ctx.callActivity('ship');
    yield* ctx.callActivity('notify');
    return 'done';
  });
  assert.match(
    message,
    /history event ExecutionCompleted expects CompleteOrchestration \(status Completed\), but the code has not ended \(actions not yet recorded: ScheduleTask 'notify' \(id 2\)\)/,
  );
});

test('unchanged code replays the finished history to the recorded completion with no new actions', () => {
  const { result } = replay(
    orderV2(function* (ctx) {
      yield* ctx.callActivity('charge');
      yield* ctx.callActivity('ship');
      return 'done';
    }),
    [...turn1, ...turn2, ...turn3],
  );
  assert.deepEqual(result.actions, []);
  assert.equal(result.isComplete, true);
});

test('after a divergence nothing more is applied, and continueWith returns no further actions', () => {
  const executor = new OrchestrationExecutor(
    orderV2(function* (ctx) {
      yield* ctx.callActivity('refund');
    }),
  );
  const first = executor.execute(turn1, [orchestratorStarted(at(1)), taskCompleted(0)]);
  assert.equal(completion(first.actions)?.failure?.errorType, 'NonDeterminismError');
  assert.equal(first.isComplete, true);
  assert.deepEqual(executor.continueWith([orchestratorStarted(at(2)), taskCompleted(0)]).actions, []);
});
