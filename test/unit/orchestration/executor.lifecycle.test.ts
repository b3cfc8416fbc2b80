/**
 * The life of an execution beyond plain completion: continue-as-new (with events carried over),
 * suspension (events held back, also during replay) and termination (with the list of running
 * sub-orchestrations when recursive).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OrchestrationContext } from '../../../worker/src/orchestration/api.ts';
import { only, TurnDriver } from '../fixtures/driver.ts';
import {
  at,
  eventRaised,
  orchestratorCompleted,
  orchestratorStarted,
  resumed,
  started,
  subCompleted,
  subCreated,
  suspended,
  taskCompleted,
  taskScheduled,
  terminated,
  timerFired,
} from '../fixtures/history.ts';
import { completion, registryOf, replay } from '../fixtures/run.ts';

let ranAfterContinueAsNew = false;

const registry = registryOf({
  *counter(ctx: OrchestrationContext, count: number) {
    const cmd = yield* ctx.waitForExternalEvent<string>('cmd');
    if (cmd === 'add') {
      ctx.continueAsNew(count + 1);
      ranAfterContinueAsNew = true;
      ctx.callActivity('never-scheduled');
      yield* ctx.createTimer(1);
    }
    return count;
  },
  *forget(ctx: OrchestrationContext) {
    yield* ctx.createTimer(1000);
    ctx.continueAsNew({ round: 2 }, { preserveUnprocessedEvents: false, version: 'current' });
  },
  *steps(ctx: OrchestrationContext) {
    const a = yield* ctx.callActivity<number>('a');
    const b = yield* ctx.callActivity<number>('b');
    return a + b;
  },
  *family(ctx: OrchestrationContext) {
    const kids = [1, 2, 3].map((n) => ctx.callSubOrchestrator('kid', n));
    yield* ctx.whenAll(kids);
  },
});

test('continueAsNew ends the turn with ContinuedAsNew, the new input as result, buffered events carried over', () => {
  const d = new TurnDriver(registry);
  d.start('counter', 1);
  ranAfterContinueAsNew = false;
  const result = d.turn(at(1), eventRaised('other', 'keep me'), eventRaised('cmd', 'add'), eventRaised('cmd', 'later'));
  assert.deepEqual(result.actions, [
    {
      kind: 'CompleteOrchestration',
      id: 0,
      status: 'ContinuedAsNew',
      result: '2',
      carryoverEvents: [eventRaised('other', 'keep me'), eventRaised('cmd', 'later')],
    },
  ]);
  assert.equal(result.isComplete, true);
  assert.equal(ranAfterContinueAsNew, true, 'the code ran to its next yield…');
  assert.equal(result.actions.length, 1, '…but nothing it did after continueAsNew became an action');
});

test('continueAsNew without preserving events drops them and can ask for another version', () => {
  const d = new TurnDriver(registry);
  d.start('forget');
  const action = only(d.turn(at(1), eventRaised('x'), timerFired(0, at(1))));
  assert.deepEqual(action, {
    kind: 'CompleteOrchestration',
    id: 1,
    status: 'ContinuedAsNew',
    result: '{"round":2}',
    newVersion: 'current',
  });
});

test('while suspended, results are held back; on resume they are applied in order', () => {
  const d = new TurnDriver(registry);
  d.start('steps');
  const held = d.turn(at(1), suspended('maintenance'), taskCompleted(0, 1));
  assert.deepEqual(held.actions, []);
  assert.equal(held.isSuspended, true);
  assert.equal(d.turn(at(2), eventRaised('noise')).isSuspended, true);
  const back = d.turn(at(3), resumed());
  assert.equal(back.isSuspended, false);
  assert.deepEqual(back.actions, [{ kind: 'ScheduleTask', id: 1, name: 'b' }]);
});

test('suspension holds during replay too: a result recorded while suspended is not applied before the resume', () => {
  const old = [
    orchestratorStarted(),
    started('steps'),
    taskScheduled(0, 'a'),
    orchestratorCompleted(),
    orchestratorStarted(at(1)),
    suspended(),
    taskCompleted(0, 5),
    orchestratorCompleted(at(1)),
  ];
  const stillSuspended = replay(registry, old).result;
  assert.deepEqual(stillSuspended.actions, []);
  assert.equal(stillSuspended.isSuspended, true);
  const resumedNow = replay(registry, old, [orchestratorStarted(at(2)), resumed()]).result;
  assert.deepEqual(resumedNow.actions, [{ kind: 'ScheduleTask', id: 1, name: 'b' }]);
});

test('an instance suspended before it started does not run until resumed', () => {
  const d = new TurnDriver(registry);
  const held = d.turn(at(0), suspended(), started('steps'));
  assert.deepEqual(held.actions, []);
  assert.equal(held.isSuspended, true);
  assert.deepEqual(d.turn(at(1), resumed()).actions, [{ kind: 'ScheduleTask', id: 0, name: 'a' }]);
});

test('terminate completes with Terminated and the reason as result; later events are ignored', () => {
  const d = new TurnDriver(registry);
  d.start('steps');
  const result = d.turn(at(1), terminated('operator request'));
  assert.deepEqual(result.actions, [
    { kind: 'CompleteOrchestration', id: 1, status: 'Terminated', result: '"operator request"' },
  ]);
  assert.deepEqual(d.turn(at(2), taskCompleted(0, 1)).actions, []);
});

test('terminate also applies while suspended', () => {
  const d = new TurnDriver(registry);
  d.start('steps');
  d.turn(at(1), suspended());
  const result = d.turn(at(2), terminated());
  assert.equal(completion(result.actions)?.status, 'Terminated');
  assert.equal(result.isSuspended, false);
});

test('recursive terminate lists the sub-orchestrations that have no result yet', () => {
  const d = new TurnDriver(registry);
  d.start('family');
  const result = d.turn(at(1), subCompleted(1, 'done'), terminated('stop', true));
  assert.deepEqual(result.actions, [
    {
      kind: 'CompleteOrchestration',
      id: 3,
      status: 'Terminated',
      result: '"stop"',
      terminateSubOrchestrations: ['order-1:0000000a:0', 'order-1:0000000a:2'],
    },
  ]);
});

test('terminate without recurse does not list sub-orchestrations', () => {
  const old = [
    orchestratorStarted(),
    started('family'),
    subCreated(0, 'kid', 'k0', 1),
    subCreated(1, 'kid', 'k1', 2),
    subCreated(2, 'kid', 'k2', 3),
  ];
  const action = completion(replay(registry, old, [orchestratorStarted(at(1)), terminated()]).result.actions);
  assert.deepEqual(action, { kind: 'CompleteOrchestration', id: 3, status: 'Terminated' });
});

test('work created in the same turn as a terminate is dropped', () => {
  const d = new TurnDriver(registry);
  d.start('steps');
  const result = d.turn(at(1), taskCompleted(0, 1), terminated());
  const terminatedOnly = [{ kind: 'CompleteOrchestration', id: 2, status: 'Terminated' }];
  assert.deepEqual(result.actions, terminatedOnly, 'no ScheduleTask b');
});
