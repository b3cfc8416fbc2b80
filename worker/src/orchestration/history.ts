/**
 * The history event set, modelled on the Durable Task event set. An orchestration's state is
 * nothing but its history: the executor replays these events to rebuild it.
 *
 * Conventions:
 * - `timestamp` is an ISO-8601 UTC string.
 * - Payloads (`input`, `result`, event data) are JSON text exactly as serialised once; the
 *   engine never re-serialises them, so replay sees byte-identical values.
 * - `eventId` on a scheduling event (TaskScheduled, TimerCreated, SubOrchestrationInstanceCreated,
 *   EventSent) is the sequence number of the action that produced it; a result event points back
 *   to it with `taskScheduledId` / `timerId`.
 * - Events this file adds later (entities, rewind) get new kinds; old kinds never change shape.
 */

/** Why an activity, sub-orchestration or orchestration failed. */
export interface FailureDetails {
  /** Error class name, e.g. `TypeError` or `TaskFailedError`. */
  errorType: string;
  message: string;
  stack?: string;
  /** The failure that caused this one, if any (for example an activity's failure inside a sub-orchestration). */
  cause?: FailureDetails;
  /** True when retrying cannot help; retry policies stop at once. */
  nonRetriable?: boolean;
}

/** Runtime status of an orchestration instance. */
export type RuntimeStatus =
  | 'Pending'
  | 'Running'
  | 'Suspended'
  | 'Completed'
  | 'Failed'
  | 'Terminated'
  | 'ContinuedAsNew';

/** Terminal statuses: nothing more happens to an instance in one of these. */
export const TERMINAL_STATUSES: readonly RuntimeStatus[] = ['Completed', 'Failed', 'Terminated'];

export function isTerminal(status: RuntimeStatus): boolean {
  return status === 'Completed' || status === 'Failed' || status === 'Terminated';
}

interface EventBase {
  /** ISO-8601 UTC time the event was recorded (or, for a message, created). */
  timestamp: string;
}

export interface ParentInstanceInfo {
  instanceId: string;
  executionId: string;
  /** The parent's SubOrchestrationInstanceCreated eventId, to which the result is addressed. */
  taskScheduledId: number;
  name: string;
}

export interface ExecutionStartedEvent extends EventBase {
  kind: 'ExecutionStarted';
  name: string;
  version: string;
  instanceId: string;
  executionId: string;
  input?: string;
  parent?: ParentInstanceInfo;
  /** Delayed start: the first turn happens at this time. */
  scheduledStartTime?: string;
  tags?: Record<string, string>;
}

/** Marks the start of one turn; its timestamp is what `ctx.currentUtcDateTime` returns in that turn. */
export interface OrchestratorStartedEvent extends EventBase {
  kind: 'OrchestratorStarted';
}

export interface OrchestratorCompletedEvent extends EventBase {
  kind: 'OrchestratorCompleted';
}

export interface TaskScheduledEvent extends EventBase {
  kind: 'TaskScheduled';
  eventId: number;
  name: string;
  version?: string;
  input?: string;
}

export interface TaskCompletedEvent extends EventBase {
  kind: 'TaskCompleted';
  taskScheduledId: number;
  result?: string;
}

export interface TaskFailedEvent extends EventBase {
  kind: 'TaskFailed';
  taskScheduledId: number;
  failure: FailureDetails;
}

export interface SubOrchestrationInstanceCreatedEvent extends EventBase {
  kind: 'SubOrchestrationInstanceCreated';
  eventId: number;
  name: string;
  instanceId: string;
  version?: string;
  input?: string;
}

export interface SubOrchestrationInstanceCompletedEvent extends EventBase {
  kind: 'SubOrchestrationInstanceCompleted';
  taskScheduledId: number;
  result?: string;
}

export interface SubOrchestrationInstanceFailedEvent extends EventBase {
  kind: 'SubOrchestrationInstanceFailed';
  taskScheduledId: number;
  failure: FailureDetails;
}

export interface TimerCreatedEvent extends EventBase {
  kind: 'TimerCreated';
  eventId: number;
  fireAt: string;
}

export interface TimerFiredEvent extends EventBase {
  kind: 'TimerFired';
  timerId: number;
  fireAt: string;
}

/** An external event delivered to this instance (raised by a client or sent by another orchestration). */
export interface EventRaisedEvent extends EventBase {
  kind: 'EventRaised';
  name: string;
  input?: string;
}

/** This orchestration sent an event to another instance. */
export interface EventSentEvent extends EventBase {
  kind: 'EventSent';
  eventId: number;
  instanceId: string;
  name: string;
  input?: string;
}

export interface ExecutionSuspendedEvent extends EventBase {
  kind: 'ExecutionSuspended';
  reason?: string;
}

export interface ExecutionResumedEvent extends EventBase {
  kind: 'ExecutionResumed';
  reason?: string;
}

export interface ExecutionTerminatedEvent extends EventBase {
  kind: 'ExecutionTerminated';
  /** JSON text recorded as the instance's output. */
  reason?: string;
  /** Also terminate sub-orchestrations that are still running. */
  recurse?: boolean;
}

/** The final event of an execution. For continue-as-new, status is `ContinuedAsNew`. */
export interface ExecutionCompletedEvent extends EventBase {
  kind: 'ExecutionCompleted';
  status: 'Completed' | 'Failed' | 'Terminated' | 'ContinuedAsNew';
  result?: string;
  failure?: FailureDetails;
}

export type HistoryEvent =
  | ExecutionStartedEvent
  | OrchestratorStartedEvent
  | OrchestratorCompletedEvent
  | TaskScheduledEvent
  | TaskCompletedEvent
  | TaskFailedEvent
  | SubOrchestrationInstanceCreatedEvent
  | SubOrchestrationInstanceCompletedEvent
  | SubOrchestrationInstanceFailedEvent
  | TimerCreatedEvent
  | TimerFiredEvent
  | EventRaisedEvent
  | EventSentEvent
  | ExecutionSuspendedEvent
  | ExecutionResumedEvent
  | ExecutionTerminatedEvent
  | ExecutionCompletedEvent;

export type HistoryEventKind = HistoryEvent['kind'];

/** The event of a given kind, e.g. `EventOf<'TaskScheduled'>`. */
export type EventOf<K extends HistoryEventKind> = Extract<HistoryEvent, { kind: K }>;
