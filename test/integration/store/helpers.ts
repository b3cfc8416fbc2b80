/**
 * Small story steps for store tests: start an instance, claim it, and commit a turn built the way
 * the runtime builds one (OrchestratorStarted, the consumed messages, what the turn scheduled,
 * OrchestratorCompleted), without the engine.
 */
import assert from 'node:assert/strict';
import type { HistoryEvent } from '../../../worker/src/orchestration/history.ts';
import type { HubStore, OrchestrationTurn, OrchestrationWorkItem } from '../../../worker/src/store/types.ts';

export const V1 = 'v1';
export const LEASE_MS = 30_000;

/** Starts an instance of `name` on version v1 with JSON input. */
export async function start(store: HubStore, instanceId: string, input: unknown = null, name = 'flow'): Promise<void> {
  await store.createInstance({ instanceId, name, version: V1, defaultVersion: V1, input: JSON.stringify(input) });
}

/** Claims exactly one instance of v1 and returns it. */
export async function claimOne(store: HubStore, workerId = 'w1', leaseMs = LEASE_MS): Promise<OrchestrationWorkItem> {
  const items = await store.claimOrchestrations(V1, 1, leaseMs, workerId);
  assert.equal(items.length, 1, 'expected one instance to be claimable');
  return items[0]!;
}

/** Kinds of events, for compact assertions. */
export function kinds(events: readonly HistoryEvent[]): string[] {
  return events.map((e) => e.kind);
}

/**
 * A turn that consumes every message of the work item and records it, plus `extra` fields
 * (activities, timers, status, ...). History continues after what the item carried.
 */
export function turnFor(item: OrchestrationWorkItem, extra: Partial<OrchestrationTurn> = {}): OrchestrationTurn {
  const now = new Date().toISOString();
  const scheduled: HistoryEvent[] = [
    ...(extra.activities ?? []).map(
      (a): HistoryEvent => ({ kind: 'TaskScheduled', timestamp: now, eventId: a.taskId, name: a.name, input: a.input }),
    ),
    ...(extra.timers ?? []).map((t): HistoryEvent => ({ kind: 'TimerCreated', timestamp: now, eventId: t.timerId, fireAt: t.fireAt })),
  ];
  return {
    instanceId: item.instanceId,
    executionId: item.executionId,
    lockToken: item.lockToken,
    historyStartSeq: item.historyOffset + item.history.length,
    newHistory: [
      { kind: 'OrchestratorStarted', timestamp: now },
      ...item.messages.map((m) => m.event),
      ...scheduled,
      { kind: 'OrchestratorCompleted', timestamp: now },
    ],
    consumedMessageIds: item.messages.map((m) => m.id),
    status: 'Running',
    activities: [],
    timers: [],
    subOrchestrations: [],
    messages: [],
    ...extra,
  };
}

/** Commits one turn and asserts it committed. */
export async function commit(store: HubStore, turn: OrchestrationTurn): Promise<void> {
  const [result] = await store.commitTurns([turn], LEASE_MS);
  assert.deepEqual(result, { instanceId: turn.instanceId, committed: true });
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
