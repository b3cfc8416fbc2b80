/**
 * Task classes on their own: settling once, the iterator protocol behind `yield*`, composite
 * tasks built from already-settled children, and retry policy arithmetic.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CompletableTask,
  retryDelayMs,
  validateRetryPolicy,
  WhenAllTask,
  WhenAnyTask,
} from '../../../worker/src/orchestration/tasks.ts';

test('a task settles once; later results are ignored', () => {
  const task = new CompletableTask<number>();
  assert.equal(task.complete(1), true);
  assert.equal(task.complete(2), false);
  assert.equal(task.fail(new Error('late')), false);
  assert.equal(task.result, 1);
  assert.equal(task.isFailed, false);
});

test('`yield*` on a task yields the task itself and returns what the executor sends back', () => {
  const task = new CompletableTask<string>();
  const it = task[Symbol.iterator]();
  assert.equal(it.next().value, task);
  assert.deepEqual(it.next('answer'), { done: true, value: 'answer' });
});

test('whenAll over already-settled children settles at construction; the first failure in order wins', () => {
  const ok = new CompletableTask<number>();
  ok.complete(1);
  assert.deepEqual(new WhenAllTask([ok, ok]).result, [1, 1]);
  const bad1 = new CompletableTask<number>();
  const bad2 = new CompletableTask<number>();
  bad2.fail(new Error('second'));
  bad1.fail(new Error('first'));
  assert.equal(new WhenAllTask([ok, bad1, bad2]).error?.message, 'first');
});

test('whenAny picks the first settled child in order at construction, and needs at least one task', () => {
  const pending = new CompletableTask<number>();
  const done = new CompletableTask<number>();
  done.complete(5);
  assert.equal(new WhenAnyTask([pending, done]).result, done);
  assert.throws(() => new WhenAnyTask([]), /at least one task/);
});

test('retry delays grow by the coefficient and stop at the max interval', () => {
  const policy = { maxAttempts: 10, firstRetryIntervalMs: 100, backoffCoefficient: 3, maxRetryIntervalMs: 2000 };
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => retryDelayMs(policy, n)), [100, 300, 900, 2000, 2000]);
  assert.deepEqual([1, 2, 3].map((n) => retryDelayMs({ maxAttempts: 3, firstRetryIntervalMs: 50 }, n)), [50, 50, 50]);
});

test('bad retry policies are rejected with the field named', () => {
  assert.throws(() => validateRetryPolicy({ maxAttempts: 1.5, firstRetryIntervalMs: 1 }), /retry\.maxAttempts/);
  assert.throws(() => validateRetryPolicy({ maxAttempts: 1, firstRetryIntervalMs: 0 }), /retry\.firstRetryIntervalMs/);
  const base = { maxAttempts: 1, firstRetryIntervalMs: 1 };
  assert.throws(() => validateRetryPolicy({ ...base, backoffCoefficient: 0.5 }), /retry\.backoffCoefficient/);
  assert.throws(() => validateRetryPolicy({ ...base, retryTimeoutMs: -1 }), /retry\.retryTimeoutMs/);
  assert.doesNotThrow(() => validateRetryPolicy({ maxAttempts: 1, firstRetryIntervalMs: 1 }));
});
