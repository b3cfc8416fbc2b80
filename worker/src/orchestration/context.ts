/**
 * The orchestration context handed to user code: the only source of time, ids and durable work.
 * Each method validates its arguments, creates an action with the next sequence number and
 * registers what should happen when the matching result event arrives. All bookkeeping lives in
 * ExecutionState, which user code cannot reach from here.
 */
import { ValidationError } from '../errors.ts';
import type { CreateSubOrchestrationAction, ScheduleTaskAction, SendEventAction } from './actions.ts';
import type {
  ActivityFunction,
  ActivityOptions,
  ContinueAsNewOptions,
  OrchestrationContext,
  OrchestratorFunction,
  ReplaySafeLogger,
  RetryPolicy,
  SubOrchestrationOptions,
  Task,
} from './api.ts';
import { EventTimeoutError, TaskFailedError } from './failure.ts';
import type { FailedTaskKind } from './failure.ts';
import type { FailureDetails } from './history.ts';
import { deterministicGuid } from './guid.ts';
import { serialize } from './json.ts';
import { settleWithPayload } from './state.ts';
import type { ExecutionState, LogLevel } from './state.ts';
import { asCompletable, CompletableTask, RetryableTask, WhenAllTask, WhenAnyTask } from './tasks.ts';

/** How one attempt of an activity or sub-orchestration reports back. */
interface AttemptHandlers {
  onCompleted(result: string | undefined): void;
  onFailed(error: TaskFailedError): void;
}

/** The OrchestrationContext implementation; one per execution, created by the executor. */
export class RuntimeOrchestrationContext implements OrchestrationContext {
  readonly #state: ExecutionState;
  readonly log: ReplaySafeLogger;

  constructor(state: ExecutionState) {
    this.#state = state;
    this.log = replaySafeLogger(state);
  }

  get instanceId(): string {
    return this.#state.instanceId;
  }
  get executionId(): string {
    return this.#state.executionId;
  }
  get name(): string {
    return this.#state.name;
  }
  get version(): string {
    return this.#state.version;
  }
  get isReplaying(): boolean {
    return this.#state.isReplaying;
  }
  /** A fresh Date each time, so user code mutating it cannot move the turn's clock. */
  get currentUtcDateTime(): Date {
    return new Date(this.#state.currentTime.getTime());
  }
  get parentInstanceId(): string | undefined {
    return this.#state.parentInstanceId;
  }

  callActivity<TOut = unknown, TIn = unknown>(
    name: string | ActivityFunction<TIn, TOut>,
    input?: TIn,
    options: ActivityOptions = {},
  ): Task<TOut> {
    const activityName = resolveName(name, 'activity');
    const inputText = serialize(input, `input of activity '${activityName}'`);
    const version = optionalVersion(options.version, 'activity version');
    return this.#withRetry<TOut>(options.retry, (handlers) => {
      if (this.#state.isComplete) return;
      const id = this.#state.nextId();
      const action: ScheduleTaskAction = { kind: 'ScheduleTask', id, name: activityName };
      if (version !== undefined) action.version = version;
      if (inputText !== undefined) action.input = inputText;
      this.#state.addAction(action);
      this.#state.openTasks.set(id, {
        kind: 'activity',
        name: activityName,
        onCompleted: (result) => handlers.onCompleted(result),
        onFailed: (failure) => handlers.onFailed(taskFailed(activityName, failure, 'activity', id)),
      });
    });
  }

  callSubOrchestrator<TOut = unknown, TIn = unknown>(
    name: string | OrchestratorFunction<TIn, TOut>,
    input?: TIn,
    options: SubOrchestrationOptions = {},
  ): Task<TOut> {
    const orchestrationName = resolveName(name, 'orchestration');
    const inputText = serialize(input, `input of sub-orchestration '${orchestrationName}'`);
    const version = optionalVersion(options.version, 'sub-orchestration version');
    if (options.instanceId !== undefined && (typeof options.instanceId !== 'string' || options.instanceId === '')) {
      throw new ValidationError('instanceId', 'must be a non-empty string');
    }
    return this.#withRetry<TOut>(options.retry, (handlers) => {
      if (this.#state.isComplete) return;
      const id = this.#state.nextId();
      // Default ids include the execution so a continue-as-new execution never reuses a child id;
      // each retry attempt has its own sequence number and therefore its own child.
      const instanceId = options.instanceId ?? `${this.#state.instanceId}:${this.#state.executionId.slice(0, 8)}:${id}`;
      const action: CreateSubOrchestrationAction = {
        kind: 'CreateSubOrchestration',
        id,
        name: orchestrationName,
        instanceId,
      };
      if (version !== undefined) action.version = version;
      if (inputText !== undefined) action.input = inputText;
      this.#state.addAction(action);
      this.#state.openTasks.set(id, {
        kind: 'sub-orchestration',
        name: orchestrationName,
        instanceId,
        onCompleted: (result) => handlers.onCompleted(result),
        onFailed: (failure) => handlers.onFailed(taskFailed(orchestrationName, failure, 'sub-orchestration', id)),
      });
    });
  }

  createTimer(fireAtOrDelayMs: Date | number): Task<void> {
    let fireAt: Date;
    if (fireAtOrDelayMs instanceof Date) {
      if (Number.isNaN(fireAtOrDelayMs.getTime())) throw new ValidationError('fireAt', 'is an invalid Date');
      fireAt = new Date(fireAtOrDelayMs.getTime());
    } else {
      fireAt = new Date(this.#state.currentTime.getTime() + checkDelay(fireAtOrDelayMs, 'delayMs'));
    }
    const task = new CompletableTask<void>();
    this.#startTimer(fireAt, () => task.complete(undefined));
    return task;
  }

  waitForExternalEvent<T = unknown>(name: string, timeoutMs?: number): Task<T> {
    if (typeof name !== 'string' || name === '') throw new ValidationError('name', 'must be a non-empty string');
    const timeout = timeoutMs === undefined || timeoutMs === Infinity ? undefined : checkDelay(timeoutMs, 'timeoutMs');
    const task = new CompletableTask<unknown>();
    const buffered = this.#state.takeBufferedEvent(name);
    if (buffered !== undefined) {
      settleWithPayload(task, buffered.input, `event '${buffered.name}'`);
      return task as CompletableTask<T>;
    }
    this.#state.addWaiter(name, task);
    if (timeout !== undefined) {
      const fireAt = new Date(this.#state.currentTime.getTime() + timeout);
      const timerId = this.#startTimer(fireAt, () => {
        // The event may have won the race; then this firing is simply ignored.
        if (task.isComplete) return;
        this.#state.removeWaiter(name, task);
        task.fail(new EventTimeoutError(name, timeout, timerId));
      });
    }
    return task as CompletableTask<T>;
  }

  sendEvent(instanceId: string, name: string, data?: unknown): void {
    if (typeof instanceId !== 'string' || instanceId === '') {
      throw new ValidationError('instanceId', 'must be a non-empty string');
    }
    if (typeof name !== 'string' || name === '') throw new ValidationError('name', 'must be a non-empty string');
    const input = serialize(data, `data of event '${name}'`);
    if (this.#state.isComplete) return;
    const id = this.#state.nextId();
    const action: SendEventAction = { kind: 'SendEvent', id, instanceId, name };
    if (input !== undefined) action.input = input;
    this.#state.addAction(action);
  }

  whenAll<T>(tasks: readonly Task<T>[]): Task<T[]> {
    return new WhenAllTask(tasks.map((t, i) => asCompletable(t, `whenAll[${i}]`)));
  }

  whenAny<T>(tasks: readonly Task<T>[]): Task<Task<T>> {
    return new WhenAnyTask(tasks.map((t, i) => asCompletable(t, `whenAny[${i}]`)));
  }

  continueAsNew(input?: unknown, options: ContinueAsNewOptions = {}): void {
    const result = serialize(input, 'continueAsNew input');
    const newVersion = optionalVersion(options.version, 'continueAsNew version');
    const preserve = options.preserveUnprocessedEvents ?? true;
    const carryover = preserve ? this.#state.bufferedEvents() : [];
    this.#state.complete(
      'ContinuedAsNew',
      { result, newVersion, carryoverEvents: carryover.length > 0 ? carryover : undefined },
      preserve,
    );
  }

  setCustomStatus(status: unknown): void {
    this.#state.customStatus = serialize(status, 'custom status');
  }

  newGuid(): string {
    const s = this.#state;
    return deterministicGuid(s.instanceId, s.executionId, s.currentTime, s.guidCounter++);
  }

  /** Creates a CreateTimer action; `onFired` runs when its TimerFired is applied. Returns the timer id. */
  #startTimer(fireAt: Date, onFired: () => void): number {
    if (this.#state.isComplete) return -1;
    const id = this.#state.nextId();
    this.#state.addAction({ kind: 'CreateTimer', id, fireAt: fireAt.toISOString() });
    this.#state.openTasks.set(id, { kind: 'timer', onFired });
    return id;
  }

  /** Runs `schedule` once (no policy) or once per attempt with durable timers in between. */
  #withRetry<T>(policy: RetryPolicy | undefined, schedule: (handlers: AttemptHandlers) => void): Task<T> {
    if (policy === undefined) {
      const task = new CompletableTask<unknown>();
      schedule({
        onCompleted: (result) => settleWithPayload(task, result, 'task result'),
        onFailed: (error) => task.fail(error),
      });
      return task as CompletableTask<T>;
    }
    const state = this.#state;
    const task: RetryableTask<unknown> = new RetryableTask<unknown>(policy, {
      now: () => state.currentTime,
      startTimer: (fireAt, onFired) => void this.#startTimer(fireAt, onFired),
      startAttempt: () =>
        schedule({
          onCompleted: (result) => settleWithPayload(task, result, 'task result'),
          onFailed: (error) => task.onAttemptFailed(error),
        }),
      warn: (msg, fields) => state.log('warn', msg, state.logFields(fields)),
    });
    task.start();
    return task as RetryableTask<T>;
  }
}

function taskFailed(name: string, failure: FailureDetails, kind: FailedTaskKind, id: number): TaskFailedError {
  return new TaskFailedError(name, failure, { taskKind: kind, taskId: id });
}

function resolveName(name: unknown, what: 'activity' | 'orchestration'): string {
  if (typeof name === 'string' && name !== '') return name;
  if (typeof name === 'function' && name.name !== '') return name.name;
  throw new ValidationError(
    what,
    typeof name === 'function'
      ? `the ${what} function has no name; pass the name it was registered under`
      : `expected a non-empty name or a named function, got ${typeof name}`,
  );
}

function optionalVersion(version: unknown, field: string): string | undefined {
  if (version === undefined) return undefined;
  if (typeof version !== 'string' || version === '') {
    throw new ValidationError(field, 'must be a non-empty string when given');
  }
  return version;
}

function checkDelay(ms: unknown, field: string): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new ValidationError(field, `must be a finite number of milliseconds ≥ 0, got ${String(ms)}`);
  }
  return ms;
}

function replaySafeLogger(state: ExecutionState): ReplaySafeLogger {
  const write = (level: LogLevel) => (msg: string, fields: Record<string, unknown> = {}) => {
    // Replayed code already logged these lines when it first ran.
    if (!state.isReplaying) state.log(level, msg, state.logFields(fields));
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
