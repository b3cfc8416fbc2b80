/**
 * Retry policies: each failed attempt waits on a durable timer (first × coefficient^(n−1), capped)
 * and then schedules a new attempt as a new action; retrying stops at maxAttempts, when handle()
 * says no, on non-retriable failures, and when the retry timeout would be passed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OrchestrationContext, RetryPolicy } from '../../../worker/src/orchestration/api.ts';
import type { FailureDetails } from '../../../worker/src/orchestration/history.ts';
import { only, TurnDriver } from '../fixtures/driver.ts';
import {
  at,
  failure,
  subCompleted,
  subFailed,
  T0,
  taskCompleted,
  taskFailed,
  timerFired,
} from '../fixtures/history.ts';
import { completion, registryOf } from '../fixtures/run.ts';

const handled: FailureDetails[] = [];

const backoff: RetryPolicy = {
  maxAttempts: 4,
  firstRetryIntervalMs: 1000,
  backoffCoefficient: 2,
  maxRetryIntervalMs: 3000,
};

const registry = registryOf({
  *flaky(ctx: OrchestrationContext, policy: Omit<RetryPolicy, 'handle'>) {
    return yield* ctx.callActivity<string>('flaky', 'x', { retry: policy });
  },
  *picky(ctx: OrchestrationContext) {
    const retry: RetryPolicy = {
      maxAttempts: 5,
      firstRetryIntervalMs: 1000,
      handle: (f) => {
        handled.push(f);
        return !f.message.includes('fatal');
      },
    };
    return yield* ctx.callActivity<string>('flaky', undefined, { retry });
  },
  *child(ctx: OrchestrationContext) {
    const retry = { maxAttempts: 2, firstRetryIntervalMs: 500 };
    return yield* ctx.callSubOrchestrator<string>('worker', 1, { retry });
  },
  *badPolicy(ctx: OrchestrationContext) {
    yield* ctx.callActivity('x', undefined, { retry: { maxAttempts: 0, firstRetryIntervalMs: 1 } });
  },
});

/** The ScheduleTask action of one attempt of the `flaky` activity. */
const attempt = (id: number) => ({ kind: 'ScheduleTask', id, name: 'flaky', input: '"x"' });

test('retry with backoff: timers fire at first × coefficient^(n−1), capped by the max interval', () => {
  const d = new TurnDriver(registry);
  assert.deepEqual(only(d.start('flaky', backoff)), attempt(0));
  assert.deepEqual(only(d.turn(at(1), taskFailed(0, 'try 1'))), { kind: 'CreateTimer', id: 1, fireAt: at(2) });
  assert.deepEqual(only(d.turn(at(2), timerFired(1, at(2)))), attempt(2));
  assert.deepEqual(only(d.turn(at(3), taskFailed(2, 'try 2'))), { kind: 'CreateTimer', id: 3, fireAt: at(5) });
  assert.deepEqual(only(d.turn(at(5), timerFired(3, at(5)))), attempt(4));
  const capped = only(d.turn(at(6), taskFailed(4, 'try 3')));
  assert.deepEqual(capped, { kind: 'CreateTimer', id: 5, fireAt: at(9) }, '4000 ms capped to 3000');
  assert.deepEqual(only(d.turn(at(9), timerFired(5, at(9)))), attempt(6));
  assert.deepEqual(only(d.turn(at(10), taskCompleted(6, 'finally'))), {
    kind: 'CompleteOrchestration',
    id: 7,
    status: 'Completed',
    result: '"finally"',
  });
});

test('retry stops at maxAttempts; the final failure is the last attempt’s', () => {
  const d = new TurnDriver(registry);
  d.start('flaky', { maxAttempts: 2, firstRetryIntervalMs: 1000 });
  d.turn(at(1), taskFailed(0, 'first'));
  d.turn(at(2), timerFired(1, at(2)));
  const action = completion(d.turn(at(3), taskFailed(2, 'second')).actions);
  assert.equal(action?.status, 'Failed');
  assert.equal(action?.failure?.message, "activity 'flaky' (task 2) failed: second");
  assert.equal(action?.failure?.cause?.message, 'second');
});

test('retry stops when handle() returns false; handle sees the failure details', () => {
  handled.length = 0;
  const d = new TurnDriver(registry);
  d.start('picky');
  assert.equal(only(d.turn(at(1), taskFailed(0, 'transient'))).kind, 'CreateTimer');
  d.turn(at(2), timerFired(1, at(2)));
  const action = completion(d.turn(at(3), taskFailed(2, 'fatal: bad card')).actions);
  assert.equal(action?.failure?.cause?.message, 'fatal: bad card');
  // The driver replays every turn a second time, so each failure is handled once per executor.
  assert.deepEqual([...new Set(handled.map((f) => f.message))], ['transient', 'fatal: bad card']);
});

test('a non-retriable failure is never retried', () => {
  const d = new TurnDriver(registry);
  d.start('flaky', backoff);
  const invalid = failure('invalid order', { errorType: 'NonRetriableError', nonRetriable: true });
  const action = completion(d.turn(at(1), taskFailed(0, invalid)).actions);
  assert.equal(action?.status, 'Failed');
  assert.equal(action?.failure?.cause?.errorType, 'NonRetriableError');
});

test('retry stops when the next attempt would start after the retry timeout (counted from the first schedule)', () => {
  const d = new TurnDriver(registry);
  d.start('flaky', { maxAttempts: 10, firstRetryIntervalMs: 1000, backoffCoefficient: 2, retryTimeoutMs: 2500 });
  const timer = only(d.turn(at(1), taskFailed(0, 'a')));
  assert.deepEqual(timer, { kind: 'CreateTimer', id: 1, fireAt: at(2) }, 'next try at +2 s: inside 2.5 s');
  d.turn(at(2), timerFired(1, at(2)));
  const action = completion(d.turn(at(3), taskFailed(2, 'b')).actions);
  assert.equal(action?.status, 'Failed', 'next try would be at +5 s: past the timeout');
  assert.equal(action?.failure?.cause?.message, 'b');
});

test('a retried sub-orchestration gets a new default instance id per attempt', () => {
  const d = new TurnDriver(registry);
  const first = only(d.start('child'));
  assert.equal(first.kind === 'CreateSubOrchestration' && first.instanceId, `order-1:0000000a:0`);
  const timer = only(d.turn(at(1), subFailed(0, 'child crashed')));
  assert.deepEqual(timer, { kind: 'CreateTimer', id: 1, fireAt: '2025-01-01T00:00:01.500Z' });
  const second = only(d.turn('2025-01-01T00:00:01.500Z', timerFired(1, '2025-01-01T00:00:01.500Z')));
  assert.deepEqual(second, {
    kind: 'CreateSubOrchestration',
    id: 2,
    name: 'worker',
    instanceId: 'order-1:0000000a:2',
    input: '1',
  });
  assert.equal(completion(d.turn(at(3), subCompleted(2, 'ok')).actions)?.result, '"ok"');
});

test('an invalid retry policy fails where it is used, with the field named', () => {
  const action = completion(new TurnDriver(registry).start('badPolicy', undefined, { timestamp: T0 }).actions);
  assert.equal(action?.failure?.errorType, 'ValidationError');
  assert.match(action?.failure?.message ?? '', /retry\.maxAttempts: must be an integer ≥ 1/);
});
