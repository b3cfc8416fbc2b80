/**
 * Errors and failure details: what history records when something throws, and the typed errors
 * orchestration code catches.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DtkError } from '../../../worker/src/errors.ts';
import {
  EventTimeoutError,
  NonDeterminismError,
  NonRetriableError,
  OrchestratorNotRegisteredError,
  TaskFailedError,
  toFailureDetails,
} from '../../../worker/src/orchestration/failure.ts';

class PaymentDeclined extends Error {}

test('toFailureDetails records the class name, message and stack', () => {
  const details = toFailureDetails(new PaymentDeclined('card expired'));
  assert.equal(details.errorType, 'PaymentDeclined');
  assert.equal(details.message, 'card expired');
  assert.match(details.stack ?? '', /card expired/);
  assert.equal(details.nonRetriable, undefined);
});

test('toFailureDetails follows the cause chain', () => {
  const root = new TypeError('socket closed');
  const middle = new RangeError('retry budget', { cause: root });
  const details = toFailureDetails(new Error('fetch failed', { cause: middle }));
  assert.equal(details.cause?.errorType, 'RangeError');
  assert.equal(details.cause?.cause?.errorType, 'TypeError');
  assert.equal(details.cause?.cause?.message, 'socket closed');
});

test('a TaskFailedError records the task failure as its cause', () => {
  const activity = {
    errorType: 'PaymentDeclined',
    message: 'no funds',
    cause: { errorType: 'Error', message: 'HTTP 402' },
  };
  const details = toFailureDetails(new TaskFailedError('charge', activity, { taskKind: 'activity', taskId: 3 }));
  assert.equal(details.errorType, 'TaskFailedError');
  assert.equal(details.message, "activity 'charge' (task 3) failed: no funds");
  assert.deepEqual(details.cause, activity);
});

test('nonRetriable is set for NonRetriableError and for any error that says nonRetriable === true', () => {
  assert.equal(toFailureDetails(new NonRetriableError('invalid order')).nonRetriable, true);
  const flagged = Object.assign(new Error('no'), { nonRetriable: true });
  assert.equal(toFailureDetails(flagged).nonRetriable, true);
  assert.equal(toFailureDetails(Object.assign(new Error('maybe'), { nonRetriable: 'yes' })).nonRetriable, undefined);
});

test('thrown non-errors and cyclic causes still give finite details', () => {
  assert.deepEqual(toFailureDetails('plain string'), { errorType: 'Error', message: 'plain string' });
  assert.deepEqual(toFailureDetails({ code: 42 }), { errorType: 'Error', message: 'non-error thrown: {"code":42}' });
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b;
  const details = toFailureDetails(a);
  assert.equal(details.cause?.message, 'b');
  assert.equal(details.cause?.cause, undefined, 'the cycle is cut');
});

test('EventTimeoutError is a TaskFailedError with code DTK_TASK_FAILED and its own class name', () => {
  const err = new EventTimeoutError('approval', 5000, 7);
  assert.ok(err instanceof TaskFailedError);
  assert.ok(err instanceof DtkError);
  assert.equal(err.code, 'DTK_TASK_FAILED');
  assert.equal(err.name, 'EventTimeoutError');
  assert.equal(err.message, "external event 'approval' (task 7) failed: no event arrived within 5000 ms");
  assert.equal(toFailureDetails(err).errorType, 'EventTimeoutError');
});

test('engine errors carry stable codes', () => {
  assert.equal(new TaskFailedError('x', { errorType: 'Error', message: 'm' }).code, 'DTK_TASK_FAILED');
  const event = { kind: 'TaskScheduled', id: 1, name: 'a' };
  assert.equal(new NonDeterminismError('o', 'i', event, 'e', 'a').code, 'DTK_NONDETERMINISM');
  assert.equal(new OrchestratorNotRegisteredError('x', []).code, 'DTK_ORCHESTRATOR_NOT_REGISTERED');
  assert.equal(new NonRetriableError('x').code, 'DTK_NON_RETRIABLE');
  assert.match(new OrchestratorNotRegisteredError('x', []).message, /registered: none/);
});
