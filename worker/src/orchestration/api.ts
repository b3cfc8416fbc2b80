/**
 * The programming model that application code sees: orchestrations, activities, tasks,
 * retry policies. Everything here is replay-safe: no Node built-ins, no clocks, no I/O.
 */
import type { FailureDetails } from './history.ts';

/**
 * A durable task: something an orchestration waits on with `yield task` (result typed as
 * unknown) or `yield* task` (result typed as T).
 */
export interface Task<T> {
  readonly isComplete: boolean;
  readonly isFailed: boolean;
  /** `const x = yield* task` gives x the type T. */
  [Symbol.iterator](): Generator<Task<T>, T, unknown>;
}

/** Retry policy for activities and sub-orchestrations; waits between attempts are durable timers. */
export interface RetryPolicy {
  /** Attempts in total, including the first. Must be ≥ 1. */
  maxAttempts: number;
  /** Delay before the second attempt, in milliseconds. Must be > 0. */
  firstRetryIntervalMs: number;
  /** Each next delay is the previous times this (default 1, must be ≥ 1). */
  backoffCoefficient?: number;
  /** Upper bound for one delay, in milliseconds (default: unbounded). */
  maxRetryIntervalMs?: number;
  /** Give up once this much time has passed since the first attempt was scheduled (default: no limit). */
  retryTimeoutMs?: number;
  /** Return false to stop retrying for this failure. Non-retriable failures never retry. */
  handle?: (failure: FailureDetails) => boolean;
}

export interface ActivityOptions {
  retry?: RetryPolicy;
  /** Run the activity on another version's workers (default: this orchestration's version). */
  version?: string;
}

export interface SubOrchestrationOptions {
  /** Default: a deterministic id derived from the parent's id and the action's sequence number. */
  instanceId?: string;
  retry?: RetryPolicy;
  /** Default: the parent's version. */
  version?: string;
}

export interface ContinueAsNewOptions {
  /** Keep external events that arrived but were not consumed (default true). */
  preserveUnprocessedEvents?: boolean;
  /**
   * Version of the next execution. Use `'current'` to move to the hub's current routing
   * version (how eternal orchestrations let old versions drain); default: the same version.
   */
  version?: string;
}

/** Logger that prints nothing while the orchestration is replaying. */
export interface ReplaySafeLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** What an orchestration function receives. The only source of time, ids and randomness. */
export interface OrchestrationContext {
  readonly instanceId: string;
  readonly executionId: string;
  readonly name: string;
  /** The version this instance runs; stamped at start, inherited by its activities and sub-orchestrations. */
  readonly version: string;
  /** True while old history is being replayed; false once new events are being applied. */
  readonly isReplaying: boolean;
  /** Deterministic current time: the start time of the current turn. */
  readonly currentUtcDateTime: Date;
  /** The parent instance, when this is a sub-orchestration. */
  readonly parentInstanceId: string | undefined;
  readonly log: ReplaySafeLogger;

  callActivity<TOut = unknown, TIn = unknown>(name: string | ActivityFunction<TIn, TOut>, input?: TIn, options?: ActivityOptions): Task<TOut>;
  callSubOrchestrator<TOut = unknown, TIn = unknown>(
    name: string | OrchestratorFunction<TIn, TOut>,
    input?: TIn,
    options?: SubOrchestrationOptions,
  ): Task<TOut>;
  /** A durable timer that fires at `fireAt` (a Date) or after `delayMs` milliseconds. */
  createTimer(fireAtOrDelayMs: Date | number): Task<void>;
  /**
   * Waits for the next external event with this name (case-insensitive). With `timeoutMs`, the
   * task fails with `EventTimeoutError` (a TaskFailedError) if the event has not arrived by then.
   */
  waitForExternalEvent<T = unknown>(name: string, timeoutMs?: number): Task<T>;
  /** Sends an event to another instance (fire and forget, durable). */
  sendEvent(instanceId: string, name: string, data?: unknown): void;
  whenAll<T>(tasks: readonly Task<T>[]): Task<T[]>;
  /** Completes with the first task that completes (or fails); the result is that task. */
  whenAny<T>(tasks: readonly Task<T>[]): Task<Task<T>>;
  /** Restarts this instance with new input and a fresh history; the current turn ends here. */
  continueAsNew(input?: unknown, options?: ContinueAsNewOptions): void;
  /** JSON-serialisable status visible to clients while the instance runs. */
  setCustomStatus(status: unknown): void;
  /** A deterministic UUID (v5-style, derived from instance id and a counter). */
  newGuid(): string;
}

/** An orchestration: a generator function replayed from history. Plain functions returning a value also work. */
export type OrchestratorFunction<TIn = unknown, TOut = unknown> = (
  ctx: OrchestrationContext,
  input: TIn,
) => Generator<Task<unknown>, TOut, unknown> | TOut;

/** What an activity receives besides its input. */
export interface ActivityContext {
  readonly instanceId: string;
  readonly name: string;
  readonly version: string;
  /** The TaskScheduled eventId in the orchestration's history. */
  readonly taskId: number;
  /** 1 for the first delivery; higher when the task is re-delivered after a crash or lost lease. */
  readonly deliveryCount: number;
  /** Aborted when the worker shuts down past its grace period or loses the lease. */
  readonly signal: AbortSignal;
}

/** An activity: an ordinary async function, run at least once. */
export type ActivityFunction<TIn = unknown, TOut = unknown> = (ctx: ActivityContext, input: TIn) => Promise<TOut> | TOut;
