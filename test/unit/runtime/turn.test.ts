import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDiscardTurn, buildTurn, type TurnContext } from '../../../worker/src/runtime/turn.ts';
import { checkTurnPayloads } from '../../../worker/src/runtime/payload-limits.ts';
import type { ExecutionResult } from '../../../worker/src/orchestration/executor.ts';
import type { ExecutionStartedEvent, HistoryEvent } from '../../../worker/src/orchestration/history.ts';
import type { OrchestrationWorkItem } from '../../../worker/src/store/types.ts';

const NOW = '2026-01-01T00:00:00.000Z';

function item(overrides: Partial<OrchestrationWorkItem> = {}): OrchestrationWorkItem {
  return {
    instanceId: 'i1',
    executionId: 'e1',
    name: 'orch',
    version: 'v3',
    status: 'Running',
    lockToken: 'tok',
    history: [],
    historyOffset: 0,
    messages: [{ id: '7', event: { kind: 'TaskCompleted', timestamp: NOW, taskScheduledId: 0, result: '1' } }],
    ...overrides,
  };
}

function context(started?: ExecutionStartedEvent, newEvents: HistoryEvent[] = []): TurnContext {
  return {
    now: NOW,
    started,
    newEvents: [{ kind: 'OrchestratorStarted', timestamp: NOW }, ...newEvents],
    historyLength: 4,
    resolveVersion: (requested, own) => (requested === 'current' ? 'v9' : (requested ?? own)),
    newExecutionId: () => 'e2',
  };
}

function result(actions: ExecutionResult['actions'], extra: Partial<ExecutionResult> = {}): ExecutionResult {
  return { actions, customStatus: undefined, customStatusChanged: false, isSuspended: false, isComplete: false, ...extra };
}

test('scheduled actions become history events and outgoing work, in action order, framed by the turn events', () => {
  const turn = buildTurn(
    item(),
    result([
      { kind: 'ScheduleTask', id: 1, name: 'charge', input: '{"a":1}' },
      { kind: 'CreateTimer', id: 2, fireAt: '2026-01-01T00:01:00.000Z' },
      { kind: 'CreateSubOrchestration', id: 3, name: 'child', instanceId: 'i1:c', input: '2' },
      { kind: 'SendEvent', id: 4, instanceId: 'other', name: 'ping', input: '"x"' },
    ]),
    context(),
  );
  assert.deepEqual(
    turn.newHistory.map((e) => e.kind),
    ['OrchestratorStarted', 'TaskScheduled', 'TimerCreated', 'SubOrchestrationInstanceCreated', 'EventSent', 'OrchestratorCompleted'],
  );
  assert.equal(turn.historyStartSeq, 4);
  assert.deepEqual(turn.consumedMessageIds, ['7']);
  assert.deepEqual(turn.activities, [{ taskId: 1, name: 'charge', version: 'v3', input: '{"a":1}' }]);
  assert.deepEqual(turn.timers, [{ timerId: 2, fireAt: '2026-01-01T00:01:00.000Z' }]);
  assert.equal(turn.subOrchestrations[0]?.version, 'v3', 'sub-orchestrations inherit the version');
  assert.deepEqual(turn.messages, [{ instanceId: 'other', event: { kind: 'EventRaised', timestamp: NOW, name: 'ping', input: '"x"' } }]);
  assert.equal(turn.status, 'Running');
});

test('completion of a sub-orchestration notifies the parent with its result', () => {
  const started: ExecutionStartedEvent = {
    kind: 'ExecutionStarted',
    timestamp: NOW,
    name: 'child',
    version: 'v3',
    instanceId: 'i1',
    executionId: 'e1',
    parent: { instanceId: 'p', executionId: 'pe', taskScheduledId: 5, name: 'parent' },
  };
  const done = buildTurn(item(), result([{ kind: 'CompleteOrchestration', id: 1, status: 'Completed', result: '42' }], { isComplete: true }), context(started));
  assert.equal(done.status, 'Completed');
  assert.equal(done.output, '42');
  assert.deepEqual(done.messages, [
    { instanceId: 'p', event: { kind: 'SubOrchestrationInstanceCompleted', timestamp: NOW, taskScheduledId: 5, result: '42' } },
  ]);
  const terminated = buildTurn(item(), result([{ kind: 'CompleteOrchestration', id: 1, status: 'Terminated', result: '"stop"' }]), context(started));
  const note = terminated.messages[0]?.event;
  assert.equal(note?.kind, 'SubOrchestrationInstanceFailed');
  assert.match(note?.kind === 'SubOrchestrationInstanceFailed' ? note.failure.message : '', /terminated/);
});

test('continue-as-new resolves the version and carries events over', () => {
  const carried: HistoryEvent = { kind: 'EventRaised', timestamp: NOW, name: 'e', input: '1' };
  const turn = buildTurn(
    item(),
    result([{ kind: 'CompleteOrchestration', id: 0, status: 'ContinuedAsNew', result: '{"n":2}', newVersion: 'current', carryoverEvents: [carried] }]),
    context(),
  );
  assert.deepEqual(turn.continueAsNew, { newExecutionId: 'e2', name: 'orch', parent: undefined, tags: undefined, version: 'v9', input: '{"n":2}', carryoverEvents: [carried] });
  assert.equal(turn.status, 'ContinuedAsNew');
});

test('recursive terminate lists the running sub-orchestrations; custom status is written only when it changed', () => {
  const turn = buildTurn(
    item(),
    result([{ kind: 'CompleteOrchestration', id: 0, status: 'Terminated', result: '"r"', terminateSubOrchestrations: ['a', 'b'] }], {
      customStatus: '"s"',
      customStatusChanged: true,
    }),
    context(),
  );
  assert.deepEqual(turn.terminateInstances, [
    { instanceId: 'a', reason: '"r"' },
    { instanceId: 'b', reason: '"r"' },
  ]);
  assert.equal(turn.customStatus, '"s"');
  assert.equal(buildTurn(item(), result([]), context()).customStatus, undefined);
});

test('a finished instance only consumes its late messages', () => {
  const turn = buildDiscardTurn(item({ status: 'Completed' }), 9);
  assert.deepEqual(turn.newHistory, []);
  assert.equal(turn.status, 'Completed');
  assert.deepEqual(turn.consumedMessageIds, ['7']);
  assert.equal(turn.historyStartSeq, 9);
});

test('payload limits name the oversize field', () => {
  const turn = buildTurn(item(), result([{ kind: 'ScheduleTask', id: 1, name: 'big', input: JSON.stringify('x'.repeat(2000)) }]), context());
  const failure = checkTurnPayloads(turn, 1024);
  assert.equal(failure?.errorType, 'PayloadTooLargeError');
  assert.match(failure?.message ?? '', /input of activity 'big' is 2002 bytes, over the limit of 1024 bytes/);
  assert.equal(checkTurnPayloads(turn, 4096), undefined);
});

test('custom status has its own, smaller limit', () => {
  const turn = buildTurn(item(), result([], { customStatus: JSON.stringify('s'.repeat(500)), customStatusChanged: true }), context());
  assert.equal(checkTurnPayloads(turn, 4096, 4096), undefined);
  assert.match(checkTurnPayloads(turn, 4096, 256)?.message ?? '', /custom status is 502 bytes, over the limit of 256 bytes; .* maxCustomStatusBytes \(DTK_MAX_CUSTOM_STATUS_BYTES\)/);
});
