/**
 * Durable tasks: what orchestration code yields. A task is settled by the executor when the
 * matching history event is applied (activity result, timer fired, event raised, …); composite
 * tasks settle from their children. Nothing here knows about history or actions: retries reach
 * the context through the small `RetryHost` interface.
 */
import { ValidationError } from '../errors.ts';
import type { RetryPolicy, Task } from './api.ts';
import type { TaskFailedError } from './failure.ts';
import type { FailureDetails } from './history.ts';

type Listener = () => void;

/**
 * A task that is settled once, from outside: completed with a result or failed with an error.
 * Later attempts to settle it are ignored (a whenAny loser, a duplicate result event).
 */
export class CompletableTask<T> implements Task<T> {
  #state: 'pending' | 'completed' | 'failed' = 'pending';
  #value: T | undefined;
  #error: Error | undefined;
  #listeners: Listener[] = [];

  /** True once the task has a result or an error. */
  get isComplete(): boolean {
    return this.#state !== 'pending';
  }

  get isFailed(): boolean {
    return this.#state === 'failed';
  }

  /** The result; throws the task's error if it failed, and an Error if it is still pending. */
  get result(): T {
    if (this.#state === 'failed') throw this.#error;
    if (this.#state === 'pending') throw new Error('task is not complete yet: yield it first');
    return this.#value as T;
  }

  /** The error of a failed task, otherwise undefined. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Settles the task with a result. Returns false (and changes nothing) if it was already settled. */
  complete(value: T): boolean {
    if (this.#state !== 'pending') return false;
    this.#state = 'completed';
    this.#value = value;
    this.#notify();
    return true;
  }

  /** Settles the task with an error. Returns false (and changes nothing) if it was already settled. */
  fail(error: Error): boolean {
    if (this.#state !== 'pending') return false;
    this.#state = 'failed';
    this.#error = error;
    this.#notify();
    return true;
  }

  /** Calls `listener` once when the task settles (never if it already has). */
  onSettled(listener: Listener): void {
    if (this.#state === 'pending') this.#listeners.push(listener);
  }

  /** Lets `const x = yield* task` type x as T: the executor answers the yield with the result. */
  *[Symbol.iterator](): Generator<Task<T>, T, unknown> {
    const result: unknown = yield this;
    return result as T;
  }

  #notify(): void {
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const listener of listeners) listener();
  }
}

/** Narrows a Task handed in by user code to one of ours; anything else is a usage error. */
export function asCompletable<T>(task: Task<T>, field: string): CompletableTask<T> {
  if (task instanceof CompletableTask) return task as CompletableTask<T>;
  throw new ValidationError(
    field,
    'expected a task created by the orchestration context (callActivity, createTimer, …)',
  );
}

/**
 * Completes with every child's result, in the children's order, once all completed; fails as
 * soon as one child fails, with that child's error (fail-fast, like Durable Task's WhenAll).
 */
export class WhenAllTask<T> extends CompletableTask<T[]> {
  readonly #children: readonly CompletableTask<T>[];

  constructor(children: readonly CompletableTask<T>[]) {
    super();
    this.#children = children;
    for (const child of children) child.onSettled(() => this.#evaluate());
    this.#evaluate();
  }

  #evaluate(): void {
    if (this.isComplete) return;
    const failed = this.#children.find((c) => c.isFailed);
    if (failed !== undefined) {
      this.fail(failed.error ?? new Error('task failed'));
      return;
    }
    if (this.#children.every((c) => c.isComplete)) this.complete(this.#children.map((c) => c.result));
  }
}

/** Completes with the first child that settles (completed or failed); never fails itself. */
export class WhenAnyTask<T> extends CompletableTask<Task<T>> {
  constructor(children: readonly CompletableTask<T>[]) {
    super();
    if (children.length === 0) throw new ValidationError('whenAny', 'needs at least one task');
    for (const child of children) child.onSettled(() => this.complete(child));
    // Children that settled before this task existed (buffered events, finished tasks): first in order wins.
    const settled = children.find((c) => c.isComplete);
    if (settled !== undefined) this.complete(settled);
  }
}

/** What a retryable task needs from the orchestration context. */
export interface RetryHost {
  /** The deterministic current time of the turn (ctx.currentUtcDateTime). */
  now(): Date;
  /** Creates a durable timer; `onFired` runs when its TimerFired event is applied. */
  startTimer(fireAt: Date, onFired: () => void): void;
  /** Schedules attempt number `attempt` (1-based); a success completes the task, a failure reaches onAttemptFailed. */
  startAttempt(attempt: number): void;
  /** Reports problems that do not fail the orchestration (a throwing `handle` predicate). */
  warn(msg: string, fields: Record<string, unknown>): void;
}

/** Checks a retry policy up front, so a bad policy fails where it was written, not at the first failure. */
export function validateRetryPolicy(policy: RetryPolicy): void {
  const field = 'retry';
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new ValidationError(`${field}.maxAttempts`, `must be an integer ≥ 1, got ${policy.maxAttempts}`);
  }
  if (!(Number.isFinite(policy.firstRetryIntervalMs) && policy.firstRetryIntervalMs > 0)) {
    const got = policy.firstRetryIntervalMs;
    throw new ValidationError(`${field}.firstRetryIntervalMs`, `must be a number > 0, got ${got}`);
  }
  const coefficient = policy.backoffCoefficient;
  if (coefficient !== undefined && !(Number.isFinite(coefficient) && coefficient >= 1)) {
    throw new ValidationError(`${field}.backoffCoefficient`, `must be a number ≥ 1, got ${coefficient}`);
  }
  for (const key of ['maxRetryIntervalMs', 'retryTimeoutMs'] as const) {
    const value = policy[key];
    if (value !== undefined && !(value > 0)) throw new ValidationError(`${field}.${key}`, `must be > 0, got ${value}`);
  }
  if (policy.handle !== undefined && typeof policy.handle !== 'function') {
    throw new ValidationError(`${field}.handle`, 'must be a function');
  }
}

/** Delay before the attempt after `failedAttempt` (1-based): first × coefficient^(failedAttempt−1), capped. */
export function retryDelayMs(policy: RetryPolicy, failedAttempt: number): number {
  const delay = policy.firstRetryIntervalMs * (policy.backoffCoefficient ?? 1) ** (failedAttempt - 1);
  return policy.maxRetryIntervalMs === undefined ? delay : Math.min(delay, policy.maxRetryIntervalMs);
}

/**
 * An activity or sub-orchestration call with a retry policy. Each failed attempt either fails the
 * task (attempts used up, non-retriable, `handle` said no, or the retry timeout would be passed)
 * or starts a durable timer after which the host schedules the next attempt as a new action.
 * The final failure is the last attempt's.
 */
export class RetryableTask<T> extends CompletableTask<T> {
  readonly #policy: RetryPolicy;
  readonly #host: RetryHost;
  readonly #firstAttemptAt: number;
  #attempt = 1;

  constructor(policy: RetryPolicy, host: RetryHost) {
    super();
    validateRetryPolicy(policy);
    this.#policy = policy;
    this.#host = host;
    this.#firstAttemptAt = host.now().getTime();
  }

  /** The attempt currently running (or last run), 1-based. */
  get attempt(): number {
    return this.#attempt;
  }

  /** Schedules the first attempt. A successful attempt simply completes this task. */
  start(): void {
    this.#host.startAttempt(1);
  }

  onAttemptFailed(error: TaskFailedError): void {
    if (this.isComplete) return;
    const delay = this.#nextDelayMs(error.details);
    if (delay === undefined) {
      this.fail(error);
      return;
    }
    const fireAt = new Date(this.#host.now().getTime() + delay);
    this.#host.startTimer(fireAt, () => {
      this.#attempt += 1;
      this.#host.startAttempt(this.#attempt);
    });
  }

  /** Undefined means: stop retrying. */
  #nextDelayMs(failure: FailureDetails): number | undefined {
    const policy = this.#policy;
    if (this.#attempt >= policy.maxAttempts) return undefined;
    if (failure.nonRetriable === true) return undefined;
    if (policy.handle !== undefined) {
      let retry: boolean;
      try {
        retry = policy.handle(failure);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        this.#host.warn('retry handle() threw; not retrying', { error });
        return undefined;
      }
      if (retry !== true) return undefined;
    }
    const delay = retryDelayMs(policy, this.#attempt);
    if (policy.retryTimeoutMs !== undefined) {
      const nextAttemptAt = this.#host.now().getTime() + delay;
      if (nextAttemptAt - this.#firstAttemptAt > policy.retryTimeoutMs) return undefined;
    }
    return delay;
  }
}
