/**
 * Turns one executor result into one store commit: the history the turn appends, the work it
 * sends out, and the instance's new status. Pure: no I/O, so unit tests can check the
 * translation from actions to rows without a database.
 */
import type { OrchestratorAction } from '../orchestration/actions.ts';
import type { ExecutionStartedEvent, FailureDetails, HistoryEvent, RuntimeStatus } from '../orchestration/history.ts';
import type { ExecutionResult } from '../orchestration/executor.ts';
import type { OrchestrationTurn, OrchestrationWorkItem, OutgoingMessage } from '../store/types.ts';

/** What a turn needs besides the work item and the executor's result. */
export interface TurnContext {
  /** Time of this turn, ISO-8601 (the OrchestratorStarted timestamp). */
  now: string;
  /** The ExecutionStarted event of the current execution (parent link, input). */
  started: ExecutionStartedEvent | undefined;
  /** Events given to the executor as new in this turn, OrchestratorStarted first. */
  newEvents: HistoryEvent[];
  /** Length of history before this turn. */
  historyLength: number;
  /** Resolves a continue-as-new version request ('current' → the hub's current version). */
  resolveVersion: (requested: string | undefined, own: string) => string;
  /** New execution id for continue-as-new. */
  newExecutionId: () => string;
}

/** Builds the atomic commit for one turn. */
export function buildTurn(item: OrchestrationWorkItem, result: ExecutionResult, ctx: TurnContext): OrchestrationTurn {
  const turn: OrchestrationTurn = {
    instanceId: item.instanceId,
    executionId: item.executionId,
    lockToken: item.lockToken,
    newHistory: [...ctx.newEvents],
    historyStartSeq: ctx.historyLength,
    consumedMessageIds: item.messages.map((m) => m.id),
    status: result.isSuspended ? 'Suspended' : 'Running',
    activities: [],
    timers: [],
    subOrchestrations: [],
    messages: [],
  };
  if (result.customStatusChanged) turn.customStatus = result.customStatus ?? null;

  for (const action of result.actions) {
    turn.newHistory.push(scheduledEventFor(action, ctx.now));
    applyAction(turn, action, item, ctx);
  }
  turn.newHistory.push({ kind: 'OrchestratorCompleted', timestamp: ctx.now });
  return turn;
}

/**
 * A turn for an instance that is already finished: its messages are consumed and dropped
 * (at-least-once delivery means late results can arrive), nothing else changes.
 */
export function buildDiscardTurn(item: OrchestrationWorkItem, historyLength: number): OrchestrationTurn {
  return {
    instanceId: item.instanceId,
    executionId: item.executionId,
    lockToken: item.lockToken,
    newHistory: [],
    historyStartSeq: historyLength,
    consumedMessageIds: item.messages.map((m) => m.id),
    status: item.status,
    activities: [],
    timers: [],
    subOrchestrations: [],
    messages: [],
  };
}

function scheduledEventFor(action: OrchestratorAction, timestamp: string): HistoryEvent {
  switch (action.kind) {
    case 'ScheduleTask':
      return { kind: 'TaskScheduled', timestamp, eventId: action.id, name: action.name, version: action.version, input: action.input };
    case 'CreateTimer':
      return { kind: 'TimerCreated', timestamp, eventId: action.id, fireAt: action.fireAt };
    case 'CreateSubOrchestration':
      return {
        kind: 'SubOrchestrationInstanceCreated',
        timestamp,
        eventId: action.id,
        name: action.name,
        instanceId: action.instanceId,
        version: action.version,
        input: action.input,
      };
    case 'SendEvent':
      return { kind: 'EventSent', timestamp, eventId: action.id, instanceId: action.instanceId, name: action.name, input: action.input };
    case 'CompleteOrchestration':
      return { kind: 'ExecutionCompleted', timestamp, status: action.status, result: action.result, failure: action.failure };
  }
}

function applyAction(turn: OrchestrationTurn, action: OrchestratorAction, item: OrchestrationWorkItem, ctx: TurnContext): void {
  switch (action.kind) {
    case 'ScheduleTask':
      turn.activities.push({ taskId: action.id, name: action.name, version: action.version ?? item.version, input: action.input });
      return;
    case 'CreateTimer':
      turn.timers.push({ timerId: action.id, fireAt: action.fireAt });
      return;
    case 'CreateSubOrchestration':
      turn.subOrchestrations.push({
        instanceId: action.instanceId,
        name: action.name,
        version: action.version ?? item.version,
        input: action.input,
        parentTaskId: action.id,
      });
      return;
    case 'SendEvent':
      turn.messages.push({
        instanceId: action.instanceId,
        event: { kind: 'EventRaised', timestamp: ctx.now, name: action.name, input: action.input },
      });
      return;
    case 'CompleteOrchestration':
      completeTurn(turn, action, item, ctx);
      return;
  }
}

function completeTurn(
  turn: OrchestrationTurn,
  action: Extract<OrchestratorAction, { kind: 'CompleteOrchestration' }>,
  item: OrchestrationWorkItem,
  ctx: TurnContext,
): void {
  if (action.status === 'ContinuedAsNew') {
    turn.status = 'ContinuedAsNew';
    turn.continueAsNew = {
      newExecutionId: ctx.newExecutionId(),
      name: item.name,
      parent: ctx.started?.parent,
      tags: ctx.started?.tags,
      version: ctx.resolveVersion(action.newVersion, item.version),
      input: action.result,
      carryoverEvents: action.carryoverEvents ?? [],
    };
    return;
  }
  turn.status = action.status satisfies RuntimeStatus;
  turn.output = action.result;
  turn.failure = action.failure;
  if (action.terminateSubOrchestrations?.length) {
    turn.terminateInstances = action.terminateSubOrchestrations.map((instanceId) => ({
      instanceId,
      reason: action.result,
    }));
  }
  const parent = ctx.started?.parent;
  if (parent) turn.messages.push(parentNotification(parent, action, item, ctx.now));
}

function parentNotification(
  parent: NonNullable<ExecutionStartedEvent['parent']>,
  action: Extract<OrchestratorAction, { kind: 'CompleteOrchestration' }>,
  item: OrchestrationWorkItem,
  timestamp: string,
): OutgoingMessage {
  if (action.status === 'Completed') {
    return {
      instanceId: parent.instanceId,
      event: { kind: 'SubOrchestrationInstanceCompleted', timestamp, taskScheduledId: parent.taskScheduledId, result: action.result },
    };
  }
  const failure: FailureDetails =
    action.failure ??
    ({
      errorType: 'OrchestrationTerminated',
      message: `sub-orchestration '${item.instanceId}' was terminated${action.result ? `: ${action.result}` : ''}`,
    } satisfies FailureDetails);
  return {
    instanceId: parent.instanceId,
    event: { kind: 'SubOrchestrationInstanceFailed', timestamp, taskScheduledId: parent.taskScheduledId, failure },
  };
}
