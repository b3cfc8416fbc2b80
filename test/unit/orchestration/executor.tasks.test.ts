/**
 * Composite tasks and durable timers as orchestration code uses them: fan-out/fan-in with
 * whenAll, races with whenAny, and timers relative to the turn's time or at a fixed time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OrchestrationContext, Task } from '../../../worker/src/orchestration/api.ts';
import { only, TurnDriver } from '../fixtures/driver.ts';
import { at, taskCompleted, taskFailed, timerFired } from '../fixtures/history.ts';
import { completion, kinds, registryOf } from '../fixtures/run.ts';

const registry = registryOf({
  *fanOut(ctx: OrchestrationContext, items: string[]) {
    const sizes = yield* ctx.whenAll(items.map((item) => ctx.callActivity<number>('measure', item)));
    return sizes.reduce((a, b) => a + b, 0);
  },
  *nobody(ctx: OrchestrationContext) {
    return yield* ctx.whenAll([]);
  },
  *race(ctx: OrchestrationContext) {
    const fast = ctx.callActivity<string>('fast');
    const slow = ctx.callActivity<string>('slow');
    const winner = yield* ctx.whenAny([fast, slow]);
    const value = yield* winner;
    return { winner: winner === fast ? 'fast' : 'slow', value };
  },
  *raceWithFailure(ctx: OrchestrationContext) {
    const a = ctx.callActivity('a');
    const b = ctx.callActivity('b');
    const winner: Task<unknown> = yield* ctx.whenAny([a, b]);
    try {
      yield* winner;
      return 'no error';
    } catch (err) {
      return `winner failed: ${(err as Error).message}`;
    }
  },
  *deadline(ctx: OrchestrationContext) {
    const work = ctx.callActivity<string>('work');
    const timeout = ctx.createTimer(30_000);
    const winner = yield* ctx.whenAny<unknown>([work, timeout]);
    return winner === timeout ? 'timed out' : yield* work;
  },
  *nap(ctx: OrchestrationContext) {
    yield* ctx.createTimer(90_000);
    yield* ctx.createTimer(new Date('2025-06-01T12:00:00.000Z'));
    return 'rested';
  },
  *badTimer(ctx: OrchestrationContext) {
    yield* ctx.createTimer(Number.NaN);
  },
  *plainYield(ctx: OrchestrationContext) {
    const result: unknown = yield ctx.callActivity('a');
    return { got: result };
  },
});

test('fan-out/fan-in: all activities are scheduled in one turn; whenAll completes with results in call order', () => {
  const d = new TurnDriver(registry);
  const first = d.start('fanOut', ['a', 'bb', 'ccc']);
  assert.deepEqual(first.actions, [
    { kind: 'ScheduleTask', id: 0, name: 'measure', input: '"a"' },
    { kind: 'ScheduleTask', id: 1, name: 'measure', input: '"bb"' },
    { kind: 'ScheduleTask', id: 2, name: 'measure', input: '"ccc"' },
  ]);
  assert.deepEqual(d.turn(at(1), taskCompleted(2, 3)).actions, [], 'one of three done: still waiting');
  const done = d.turn(at(2), taskCompleted(0, 1), taskCompleted(1, 2));
  assert.equal(completion(done.actions)?.result, '6');
});

test('whenAll fails fast on the first failure, without waiting for the others', () => {
  const d = new TurnDriver(registry);
  d.start('fanOut', ['a', 'b']);
  const failed = completion(d.turn(at(1), taskFailed(1, 'disk full')).actions);
  assert.equal(failed?.status, 'Failed');
  assert.equal(failed?.failure?.errorType, 'TaskFailedError');
  assert.equal(failed?.failure?.cause?.message, 'disk full');
  assert.deepEqual(d.turn(at(2), taskCompleted(0, 1)).actions, [], 'the late result changes nothing');
});

test('whenAll of no tasks completes at once with an empty list', () => {
  assert.equal(completion(new TurnDriver(registry).start('nobody').actions)?.result, '[]');
});

test('whenAny completes with the first finished task; the loser finishing later is ignored', () => {
  const d = new TurnDriver(registry);
  assert.deepEqual(kinds(d.start('race').actions), ['ScheduleTask:fast', 'ScheduleTask:slow']);
  const done = d.turn(at(1), taskCompleted(1, 'tortoise'));
  assert.equal(completion(done.actions)?.result, '{"winner":"slow","value":"tortoise"}');
  assert.deepEqual(d.turn(at(2), taskCompleted(0, 'hare')).actions, []);
});

test('whenAny completes (does not fail) when the first task fails; awaiting the winner throws', () => {
  const d = new TurnDriver(registry);
  d.start('raceWithFailure');
  const result = completion(d.turn(at(1), taskFailed(0, 'boom')).actions)?.result;
  assert.equal(result, '"winner failed: activity \'a\' (task 0) failed: boom"');
});

test('a timer raced against an activity: the timer wins when it fires first', () => {
  const d = new TurnDriver(registry);
  const first = d.start('deadline');
  assert.deepEqual(first.actions[1], { kind: 'CreateTimer', id: 1, fireAt: at(30) });
  assert.equal(completion(d.turn(at(30), timerFired(1, at(30))).actions)?.result, '"timed out"');
});

test('a timer raced against an activity: the activity wins when it finishes first', () => {
  const d = new TurnDriver(registry);
  d.start('deadline');
  assert.equal(completion(d.turn(at(3), taskCompleted(0, 'done')).actions)?.result, '"done"');
  assert.deepEqual(d.turn(at(30), timerFired(1, at(30))).actions, []);
});

test('timers fire at turn time + delay, or at a given Date; the code resumes when TimerFired arrives', () => {
  const d = new TurnDriver(registry);
  const june = '2025-06-01T12:00:00.000Z';
  const first = only(d.start('nap', undefined, { timestamp: at(10) }));
  assert.deepEqual(first, { kind: 'CreateTimer', id: 0, fireAt: at(100) });
  assert.deepEqual(only(d.turn(at(100), timerFired(0, at(100)))), { kind: 'CreateTimer', id: 1, fireAt: june });
  assert.equal(completion(d.turn(june, timerFired(1, june)).actions)?.result, '"rested"');
});

test('an invalid timer delay fails the instance with a ValidationError', () => {
  const action = completion(new TurnDriver(registry).start('badTimer').actions);
  assert.equal(action?.failure?.errorType, 'ValidationError');
  assert.match(action?.failure?.message ?? '', /delayMs: must be a finite number/);
});

test('plain `yield task` (without *) also receives the result', () => {
  const d = new TurnDriver(registry);
  d.start('plainYield');
  assert.equal(completion(d.turn(at(1), taskCompleted(0, { ok: true })).actions)?.result, '{"got":{"ok":true}}');
});
