/**
 * Golden histories (test/golden/*.json) must keep replaying after every engine change. For each
 * file: replaying the history up to its recorded end yields exactly the recorded completion;
 * replaying all of it yields nothing new; and a runtime-style run (one cached executor, inbox
 * events as new events turn by turn) produces, in every turn, exactly the actions history recorded.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CompleteOrchestrationAction } from '../../../worker/src/orchestration/actions.ts';
import { OrchestrationExecutor } from '../../../worker/src/orchestration/executor.ts';
import type { HistoryEvent } from '../../../worker/src/orchestration/history.ts';
import { goldenRegistry } from '../../golden/orchestrations.ts';
import { recordActions, withoutStacks } from '../fixtures/history.ts';

interface Golden {
  scenario: string;
  orchestration: string;
  history: HistoryEvent[];
  expected: CompleteOrchestrationAction;
}

const dir = join(import.meta.dirname, '../../golden');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

/** Events the runtime writes itself (records of actions, turn markers), as opposed to delivered ones. */
const RECORDED_BY_RUNTIME = new Set<HistoryEvent['kind']>([
  'OrchestratorCompleted',
  'TaskScheduled',
  'TimerCreated',
  'SubOrchestrationInstanceCreated',
  'EventSent',
  'ExecutionCompleted',
]);

/** Splits a history into turns, each starting at an OrchestratorStarted. */
function turns(history: readonly HistoryEvent[]): HistoryEvent[][] {
  const out: HistoryEvent[][] = [];
  for (const event of history) {
    if (event.kind === 'OrchestratorStarted' || out.length === 0) out.push([]);
    out[out.length - 1]?.push(event);
  }
  return out;
}

test('there are golden histories for every required scenario', () => {
  const required = ['chain', 'fan-out', 'timer', 'event-timeout', 'retry', 'sub-orchestration', 'continue-as-new'];
  assert.deepEqual(required.filter((s) => !files.includes(`${s}.json`)), []);
});

for (const file of files) {
  const golden = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Golden;

  test(`golden ${golden.scenario}: replay reaches the recorded completion and nothing else`, () => {
    const beforeEnd = golden.history.filter((e) => e.kind !== 'ExecutionCompleted');
    const result = new OrchestrationExecutor(goldenRegistry()).execute(beforeEnd, []);
    assert.deepEqual(withoutStacks(result.actions), [golden.expected]);
    assert.equal(result.isComplete, true);
  });

  test(`golden ${golden.scenario}: the full history replays with no new actions`, () => {
    const result = new OrchestrationExecutor(goldenRegistry()).execute(golden.history, []);
    assert.deepEqual(result.actions, []);
    assert.equal(result.isComplete, true);
  });

  test(`golden ${golden.scenario}: turn by turn, a cached executor recreates each turn's recorded actions`, () => {
    const executor = new OrchestrationExecutor(goldenRegistry());
    turns(golden.history).forEach((turn, i) => {
      const delivered = turn.filter((e) => !RECORDED_BY_RUNTIME.has(e.kind));
      const recorded = turn.filter((e) => RECORDED_BY_RUNTIME.has(e.kind) && e.kind !== 'OrchestratorCompleted');
      const result = i === 0 ? executor.execute([], delivered) : executor.continueWith(delivered);
      const timestamp = turn[0]?.timestamp ?? '';
      assert.deepEqual(withoutStacks(recordActions(result.actions, timestamp)), recorded, `turn ${i} at ${timestamp}`);
    });
  });
}
