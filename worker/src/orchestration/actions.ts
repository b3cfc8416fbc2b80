/**
 * Actions an orchestration asks for in one turn. The executor returns them; the runtime turns
 * each into history events and outgoing work, committed in the same transaction.
 * `id` is the action's sequence number within the execution; it becomes the `eventId` of the
 * matching scheduling event, so replay can match history to code.
 */
import type { FailureDetails, HistoryEvent } from './history.ts';

export interface ScheduleTaskAction {
  kind: 'ScheduleTask';
  id: number;
  name: string;
  /** Unset: the activity inherits the orchestration's version. */
  version?: string;
  input?: string;
}

export interface CreateSubOrchestrationAction {
  kind: 'CreateSubOrchestration';
  id: number;
  name: string;
  instanceId: string;
  /** Unset: the sub-orchestration inherits the parent's version. */
  version?: string;
  input?: string;
}

export interface CreateTimerAction {
  kind: 'CreateTimer';
  id: number;
  /** ISO-8601 UTC. */
  fireAt: string;
}

export interface SendEventAction {
  kind: 'SendEvent';
  id: number;
  instanceId: string;
  name: string;
  input?: string;
}

export interface CompleteOrchestrationAction {
  kind: 'CompleteOrchestration';
  id: number;
  status: 'Completed' | 'Failed' | 'Terminated' | 'ContinuedAsNew';
  result?: string;
  failure?: FailureDetails;
  /** For ContinuedAsNew: the version the next execution runs (unset: same version; '' never). */
  newVersion?: string;
  /** For ContinuedAsNew with preserveUnprocessedEvents: EventRaised events not yet consumed, re-delivered to the next execution. */
  carryoverEvents?: HistoryEvent[];
  /** For Terminated with recurse: terminate these running sub-orchestrations too. */
  terminateSubOrchestrations?: string[];
}

export type OrchestratorAction =
  | ScheduleTaskAction
  | CreateSubOrchestrationAction
  | CreateTimerAction
  | SendEventAction
  | CompleteOrchestrationAction;

export type OrchestratorActionKind = OrchestratorAction['kind'];
