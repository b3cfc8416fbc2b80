/**
 * The executor's basic contract: activity chaining, outcomes (completed, failed, unknown name),
 * time, custom status, guids, replay flag and logger, and the runtime-facing rules
 * (continueWith, duplicate results, events after completion).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OrchestrationContext } from '../../../worker/src/orchestration/api.ts';
import { TaskFailedError } from '../../../worker/src/orchestration/failure.ts';
import { OrchestrationExecutor } from '../../../worker/src/orchestration/executor.ts';
import { only, TurnDriver } from '../fixtures/driver.ts';
import {
  at,
  eventRaised,
  failure,
  orchestratorCompleted,
  orchestratorStarted,
  recordActions,
  started,
  T0,
  taskCompleted,
  taskFailed,
  taskScheduled,
  timerFired,
} from '../fixtures/history.ts';
import { completion, registryOf, replay } from '../fixtures/run.ts';

const registry = registryOf({
  *chain(ctx: OrchestrationContext, city: string) {
    const a = yield* ctx.callActivity<string>('greet', city);
    const b = yield* ctx.callActivity<string>('greet', a);
    return [a, b];
  },
  plain: (_ctx: OrchestrationContext, input: number) => input * 2,
  *nothing() {},
  *explodes() {
    throw new TypeError('bad input');
  },
  *activityFails(ctx: OrchestrationContext) {
    yield* ctx.callActivity('charge');
  },
  async asyncOne() {
    return 1;
  },
  *yieldsPromise() {
    yield Promise.resolve(1);
  },
  *status(ctx: OrchestrationContext) {
    ctx.setCustomStatus({ step: 1 });
    yield* ctx.callActivity('a');
    ctx.setCustomStatus({ step: 1 });
    yield* ctx.callActivity('b');
    ctx.setCustomStatus({ step: 2 });
    yield* ctx.callActivity('c');
    ctx.setCustomStatus(undefined);
  },
  *clock(ctx: OrchestrationContext) {
    const first = ctx.currentUtcDateTime.toISOString();
    yield* ctx.createTimer(60_000);
    return [first, ctx.currentUtcDateTime.toISOString()];
  },
});

test('chaining: each activity is scheduled after the previous result, with the result as input', () => {
  const d = new TurnDriver(registry);
  assert.deepEqual(only(d.start('chain', 'Oslo')), { kind: 'ScheduleTask', id: 0, name: 'greet', input: '"Oslo"' });
  const second = only(d.turn(at(1), taskCompleted(0, 'Hi Oslo')));
  assert.deepEqual(second, { kind: 'ScheduleTask', id: 1, name: 'greet', input: '"Hi Oslo"' });
  const done = d.turn(at(2), taskCompleted(1, 'Hi Hi Oslo'));
  assert.deepEqual(done.actions, [
    { kind: 'CompleteOrchestration', id: 2, status: 'Completed', result: '["Hi Oslo","Hi Hi Oslo"]' },
  ]);
  assert.equal(done.isComplete, true);
});

test('a plain (non-generator) orchestrator completes in its first turn', () => {
  const d = new TurnDriver(registry);
  const action = only(d.start('plain', 21));
  assert.deepEqual(action, { kind: 'CompleteOrchestration', id: 0, status: 'Completed', result: '42' });
});

test('returning undefined completes with no result field', () => {
  const d = new TurnDriver(registry);
  assert.deepEqual(only(d.start('nothing')), { kind: 'CompleteOrchestration', id: 0, status: 'Completed' });
});

test('an orchestrator that throws fails with the error as failure details', () => {
  const action = completion(new TurnDriver(registry).start('explodes').actions);
  assert.equal(action?.status, 'Failed');
  assert.equal(action?.failure?.errorType, 'TypeError');
  assert.equal(action?.failure?.message, 'bad input');
  assert.match(action?.failure?.stack ?? '', /bad input/);
});

test('an unhandled activity failure fails the instance as TaskFailedError, keeping the cause chain', () => {
  const d = new TurnDriver(registry);
  d.start('activityFails');
  const cause = failure('card declined', { errorType: 'PaymentError', cause: failure('HTTP 402') });
  const action = completion(d.turn(at(1), taskFailed(0, cause)).actions);
  assert.equal(action?.status, 'Failed');
  assert.equal(action?.failure?.errorType, 'TaskFailedError');
  assert.equal(action?.failure?.message, "activity 'charge' (task 0) failed: card declined");
  assert.deepEqual(action?.failure?.cause, cause);
});

test('an async orchestrator fails with a message telling to use a generator', () => {
  const action = completion(new TurnDriver(registry).start('asyncOne').actions);
  assert.equal(action?.status, 'Failed');
  assert.match(action?.failure?.message ?? '', /generator functions \(function\*\)/);
});

test('yielding something that is not a task fails the instance with a clear message', () => {
  const action = completion(new TurnDriver(registry).start('yieldsPromise').actions);
  assert.equal(action?.failure?.errorType, 'ValidationError');
  assert.match(action?.failure?.message ?? '', /may only yield tasks from the context.*a Promise/);
});

test('an unregistered orchestration fails, naming the registered ones', () => {
  const action = completion(new TurnDriver(registry).start('nope').actions);
  assert.equal(action?.status, 'Failed');
  assert.equal(action?.failure?.errorType, 'OrchestratorNotRegisteredError');
  assert.match(action?.failure?.message ?? '', /no orchestration named 'nope'.*registered: .*'chain'.*'plain'/);
});

test('custom status is JSON text and reported as changed only when it differs from the turn start', () => {
  const d = new TurnDriver(registry);
  const first = d.start('status');
  assert.equal(first.customStatus, '{"step":1}');
  assert.equal(first.customStatusChanged, true);
  const same = d.turn(at(1), taskCompleted(0));
  assert.equal(same.customStatus, '{"step":1}');
  assert.equal(same.customStatusChanged, false, 'set again to the same value: unchanged');
  assert.equal(d.turn(at(2), taskCompleted(1)).customStatusChanged, true);
  const cleared = d.turn(at(3), taskCompleted(2));
  assert.equal(cleared.customStatus, undefined);
  assert.equal(cleared.customStatusChanged, true);
});

test('currentUtcDateTime is the latest OrchestratorStarted time', () => {
  const d = new TurnDriver(registry);
  d.start('clock', undefined, { timestamp: at(5) });
  const action = completion(d.turn(at(65), timerFired(0, at(65))).actions);
  assert.equal(action?.result, JSON.stringify([at(5), at(65)]));
});

test('newGuid is deterministic per instance, execution, turn and call, and looks like a v5 UUID', () => {
  const reg = registryOf({
    *guids(ctx: OrchestrationContext) {
      const a = ctx.newGuid();
      const b = ctx.newGuid();
      yield* ctx.createTimer(1000);
      return [a, b, ctx.newGuid()];
    },
  });
  const run = (instanceId: string) => {
    const d = new TurnDriver(reg);
    d.start('guids', undefined, { instanceId });
    return JSON.parse(completion(d.turn(at(1), timerFired(0, at(1))).actions)?.result ?? '[]') as string[];
  };
  const one = run('i-1');
  assert.deepEqual(run('i-1'), one, 'same instance: same guids on every replay');
  assert.equal(new Set(one).size, 3, 'every call differs');
  for (const g of one) assert.match(g, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notDeepEqual(run('i-2'), one, 'another instance: other guids');
});

test('isReplaying is true for old events, false for new ones; the replay-safe logger is quiet while replaying', () => {
  const seen: boolean[] = [];
  const reg = registryOf({
    *logs(ctx: OrchestrationContext) {
      seen.push(ctx.isReplaying);
      ctx.log.info('step one', { n: 1 });
      yield* ctx.callActivity('a');
      seen.push(ctx.isReplaying);
      ctx.log.warn('step two');
    },
  });
  const old = [orchestratorStarted(), started('logs'), taskScheduled(0, 'a'), orchestratorCompleted()];
  const { result, log } = replay(reg, old, [orchestratorStarted(at(1)), taskCompleted(0)]);
  assert.deepEqual(seen, [true, false]);
  assert.deepEqual(
    log.map((l) => [l.level, l.msg]),
    [['warn', 'step two']],
  );
  assert.equal(log[0]?.fields.instanceId, 'order-1');
  assert.equal(completion(result.actions)?.status, 'Completed');
});

test('a log sink that throws does not affect the orchestration', () => {
  const reg = registryOf({
    *chatty(ctx: OrchestrationContext) {
      ctx.log.info('hello');
      return 'fine';
    },
  });
  const executor = new OrchestrationExecutor(reg, {
    log: () => {
      throw new Error('log pipe broken');
    },
  });
  const result = executor.execute([], [orchestratorStarted(), started('chatty')]);
  assert.equal(completion(result.actions)?.result, '"fine"');
});

test('continueWith over new events returns what execute over the concatenated history returns', () => {
  const old = [orchestratorStarted(), started('chain', 'Rome')];
  const turn1 = [orchestratorStarted(at(1))];
  const cached = new OrchestrationExecutor(registry);
  const first = cached.execute([], [...old, ...turn1]);
  const recorded = [...old, ...turn1, ...recordActions(first.actions, at(1)), orchestratorCompleted(at(1))];
  const turn2 = [orchestratorStarted(at(2)), taskCompleted(0, 'Ciao Rome')];
  const viaContinue = cached.continueWith(turn2);
  const viaReplay = new OrchestrationExecutor(registry).execute(recorded, turn2);
  assert.deepEqual(viaContinue, viaReplay);
  assert.deepEqual(viaContinue.actions, [{ kind: 'ScheduleTask', id: 1, name: 'greet', input: '"Ciao Rome"' }]);
});

test('continueWith accepts the scheduling events of actions it already returned', () => {
  const executor = new OrchestrationExecutor(registry);
  const first = executor.execute([], [orchestratorStarted(), started('chain', 'Rome')]);
  const recorded = recordActions(first.actions, T0);
  const next = executor.continueWith([...recorded, orchestratorStarted(at(1)), taskCompleted(0, 'x')]);
  assert.deepEqual(next.actions, [{ kind: 'ScheduleTask', id: 1, name: 'greet', input: '"x"' }]);
});

test('the runtime misusing the executor gets an exception', () => {
  assert.throws(() => new OrchestrationExecutor(registry).continueWith([]), /before execute/);
  const executor = new OrchestrationExecutor(registry);
  executor.execute([], []);
  assert.throws(() => executor.execute([], []), /already called/);
});

test('duplicate and unknown result events are ignored with a debug log, not a failure', () => {
  const d = new TurnDriver(registry);
  d.start('chain', 'Oslo');
  const next = d.turn(at(1), taskCompleted(0, 'a'), taskCompleted(0, 'a-again'), taskCompleted(99, 'stray'));
  assert.deepEqual(next.actions, [{ kind: 'ScheduleTask', id: 1, name: 'greet', input: '"a"' }]);
  assert.equal(next.isComplete, false);
  assert.equal(d.log.filter((l) => l.level === 'debug' && /no task is waiting/.test(l.msg)).length, 2);
  assert.equal(d.turn(at(2), taskCompleted(0, 'late duplicate')).actions.length, 0);
});

test('events after completion are ignored', () => {
  const d = new TurnDriver(registry);
  d.start('plain', 1);
  const after = d.turn(at(1), eventRaised('poke'), taskCompleted(0, 1));
  assert.deepEqual(after.actions, []);
  assert.equal(after.isComplete, true);
});

test('TaskFailedError reaches orchestration code and can be handled there', () => {
  const reg = registryOf({
    *careful(ctx: OrchestrationContext) {
      try {
        yield* ctx.callActivity('charge');
      } catch (err) {
        if (!(err instanceof TaskFailedError)) throw err;
        return `refunded after: ${err.details.message}`;
      }
    },
  });
  const d = new TurnDriver(reg);
  d.start('careful');
  assert.equal(completion(d.turn(at(1), taskFailed(0, 'declined')).actions)?.result, '"refunded after: declined"');
});
